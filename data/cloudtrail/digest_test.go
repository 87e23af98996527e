package cloudtrail

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
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

// TestVerifySignature: a digest signed as CloudTrail signs (SHA256withRSA over its end time, S3
// location, plain hash and the previous signature) verifies with the key, in PKCS #1 or PKIX;
// any of the four changed, or another key, fails.
func TestVerifySignature(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "inputs", "digest.json"))
	d, err := ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	plain := fmt.Sprintf("%x", sha256.Sum256(raw))
	signed := sha256.Sum256([]byte("2024-05-09T20:32:31Z\norg-trail-logs/" + d.Object + "\n" + plain + "\n" + d.PreviousSignature))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(&key.PublicKey)
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	for _, k := range [][]byte{pkcs1, pkix} {
		if err := d.VerifySignature(plain, hex.EncodeToString(sig), k); err != nil {
			t.Errorf("a good signature: %v", err)
		}
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	moved := d
	moved.Object = strings.Replace(d.Object, "us-east-1", "eu-west-1", 1)
	later := d
	later.EndText = "2024-05-09T21:32:31Z"
	unchained := d
	unchained.PreviousSignature = "null"
	for name, c := range map[string]struct {
		d     Digest
		plain string
		key   []byte
	}{
		"content": {d, strings.Repeat("0", 64), pkcs1}, "location": {moved, plain, pkcs1}, "end time": {later, plain, pkcs1},
		"previous signature": {unchained, plain, pkcs1}, "key": {d, plain, x509.MarshalPKCS1PublicKey(&other.PublicKey)},
	} {
		if err := c.d.VerifySignature(c.plain, hex.EncodeToString(sig), c.key); err == nil {
			t.Errorf("another %s verified", name)
		}
	}
}
