package cloudtrail

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// FuzzParseDigest: digest files come from exports nobody vouches for. Whatever the bytes,
// parsing and the names read from a digest never panic; a digest that parses keeps its own
// location, hashes in lower case, and reads back the same when written out again; a signature
// never verifies against a key that is not one.
func FuzzParseDigest(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inputs", "digest.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(strings.Replace(string(raw), `"previousDigestSignature":"4e1a`, `"previousDigestSignature":null,"x":"`, 1)))
	f.Add([]byte(`{"digestS3Object":"_","digestStartTime":"2024-05-09T19:32:31Z","digestEndTime":"2024-05-09T19:32:31+02:00","logFiles":[{}]}`))
	f.Add([]byte(`{"digestS3Object":"a/CloudTrail-Digest/","digestStartTime":"0001-01-01T00:00:00Z","digestEndTime":"9999-12-31T23:59:59Z"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseDigest(raw)
		// The names are read from paths as well as from digests.
		for _, name := range []string{string(raw), d.Object} {
			if acct, region, at, ok := LogFileName(name); ok {
				if len(acct) != 12 || region == "" || at.IsZero() || !strings.Contains(BaseName(name), acct+"_CloudTrail_"+region+"_"+at.Format("20060102T1504Z")+"_") {
					t.Errorf("LogFileName(%q) = %q %q %v", name, acct, region, at)
				}
			}
		}
		if err != nil {
			return
		}
		if d.Object == "" || d.EndText == "" {
			t.Fatalf("parsed without its location or end time: %+v", d)
		}
		if !strings.HasPrefix(BaseName(d.Object), d.Chain()) {
			t.Errorf("chain %q is not the start of %q", d.Chain(), BaseName(d.Object))
		}
		_, _ = d.Region(), d.HomeRegion()
		for _, l := range d.Logs {
			if l.Hash != strings.ToLower(l.Hash) {
				t.Errorf("hash %q not in lower case", l.Hash)
			}
		}
		if err := d.VerifySignature(d.PreviousHash, d.PreviousSignature, raw); err == nil {
			t.Errorf("verified against a key made of the digest's own bytes")
		}
		j := digestJSON{Account: d.Account, Start: d.Start.Format(time.RFC3339Nano), End: d.EndText, Bucket: d.Bucket,
			Object: d.Object, PreviousBucket: d.PreviousBucket, PreviousObject: d.PreviousObject, PreviousHash: d.PreviousHash,
			PreviousSig: &d.PreviousSignature, Fingerprint: d.Fingerprint}
		if d.PreviousSignature == "null" {
			j.PreviousSig = nil
		}
		for _, l := range d.Logs {
			j.Logs = append(j.Logs, struct {
				Bucket string `json:"s3Bucket"`
				Object string `json:"s3Object"`
				Hash   string `json:"hashValue"`
				Alg    string `json:"hashAlgorithm"`
			}{l.Bucket, l.Object, l.Hash, "SHA-256"})
		}
		out, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseDigest(out)
		if err != nil {
			t.Fatalf("a parsed digest written out does not parse: %v\n%s", err, out)
		}
		if !again.Start.Equal(d.Start) || !again.End.Equal(d.End) || !slices.Equal(again.Logs, d.Logs) {
			t.Errorf("written out and read back:\n%+v\n%+v", d, again)
		}
		again.Start, again.End, d.Start, d.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(again, d) {
			t.Errorf("written out and read back:\n%+v\n%+v", d, again)
		}
	})
}
