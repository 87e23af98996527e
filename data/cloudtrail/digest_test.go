package cloudtrail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDigest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inputs", "digest.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Account != "111122223333" || d.Region() != "us-east-1" || !d.End.Equal(time.Date(2024, 5, 9, 20, 32, 31, 0, time.UTC)) ||
		len(d.Logs) != 1 || !strings.HasSuffix(d.Logs[0].Object, "_AbCdEfGh12345678.json.gz") || len(d.Logs[0].Hash) != 64 ||
		!strings.HasSuffix(d.PreviousObject, "_20240509T193231Z.json.gz") || d.PreviousHash == "" {
		t.Errorf("%+v", d)
	}
	if got, want := d.Chain(), "111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1"; got != want {
		t.Errorf("chain %q, want %q", got, want)
	}
	for _, bad := range []string{
		strings.Replace(string(raw), `"hashAlgorithm":"SHA-256"`, `"hashAlgorithm":"MD5"`, 1),
		strings.Replace(string(raw), `"digestEndTime":"2024-05-09T20:32:31Z"`, `"digestEndTime":"yesterday"`, 1),
		strings.Replace(string(raw), `"digestS3Object"`, `"elsewhere"`, 1),
		`{"logFiles":`,
	} {
		if _, err := ParseDigest([]byte(bad)); err == nil {
			t.Errorf("accepted %.80q…", bad)
		}
	}
}

func TestLogFileName(t *testing.T) {
	acct, region, at, ok := LogFileName("s3://b/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/09/111122223333_CloudTrail_eu-west-1_20240509T2025Z_AbCd1234.json.gz")
	if !ok || acct != "111122223333" || region != "eu-west-1" || !at.Equal(time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC)) {
		t.Errorf("%s %s %v %v", acct, region, at, ok)
	}
	for _, name := range []string{"export.tar.gz ! logs/111122223333_CloudTrail_us-east-1_20240509T2025Z_x.json", "a.json"} {
		_, _, _, ok := LogFileName(name)
		if ok != strings.Contains(name, "_CloudTrail_") {
			t.Errorf("%s: %v", name, ok)
		}
	}
}
