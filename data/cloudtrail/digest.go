package cloudtrail

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Digest is what an integrity check needs of a CloudTrail digest file: each hour CloudTrail
// delivers one per account, region and trail, listing the log files it delivered in the hour
// with the SHA-256 of their plain content, and the hash of the digest before it.
type Digest struct {
	Account        string
	Start, End     time.Time
	Bucket, Object string // where CloudTrail delivered this digest
	// Previous names the digest before this one in the chain, with the SHA-256 of its plain
	// content; empty for the first digest of a chain.
	PreviousBucket, PreviousObject, PreviousHash string
	Logs                                         []DigestLog
	// What CloudTrail's signature covers besides the hash of the plain content: the end time
	// as written, and the previous digest's signature ("null" for the first of a chain).
	EndText, PreviousSignature string
	Fingerprint                string // of the public key the digest was signed with
}

// DigestLog is one log file a digest lists.
type DigestLog struct {
	Bucket, Object string
	Hash           string // hex SHA-256 of the plain (gunzipped) content
}

type digestJSON struct {
	Account        string  `json:"awsAccountId"`
	Start          string  `json:"digestStartTime"`
	End            string  `json:"digestEndTime"`
	Bucket         string  `json:"digestS3Bucket"`
	Object         string  `json:"digestS3Object"`
	PreviousBucket string  `json:"previousDigestS3Bucket"`
	PreviousObject string  `json:"previousDigestS3Object"`
	PreviousHash   string  `json:"previousDigestHashValue"`
	PreviousAlg    string  `json:"previousDigestHashAlgorithm"`
	PreviousSig    *string `json:"previousDigestSignature"`
	Fingerprint    string  `json:"digestPublicKeyFingerprint"`
	Logs           []struct {
		Bucket string `json:"s3Bucket"`
		Object string `json:"s3Object"`
		Hash   string `json:"hashValue"`
		Alg    string `json:"hashAlgorithm"`
	} `json:"logFiles"`
}

// ParseDigest reads a digest file's JSON. It refuses one that lacks its own location or times,
// or that hashes with anything but SHA-256 (the only algorithm CloudTrail uses).
func ParseDigest(raw []byte) (Digest, error) {
	var j digestJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Digest{}, fmt.Errorf("digest: %w", err)
	}
	if j.Object == "" {
		return Digest{}, errors.New("digest: no digestS3Object")
	}
	d := Digest{Account: j.Account, Bucket: j.Bucket, Object: j.Object,
		PreviousBucket: j.PreviousBucket, PreviousObject: j.PreviousObject, PreviousHash: strings.ToLower(j.PreviousHash),
		EndText: j.End, PreviousSignature: "null", Fingerprint: j.Fingerprint}
	if j.PreviousSig != nil {
		d.PreviousSignature = *j.PreviousSig
	}
	var err error
	if d.Start, err = time.Parse(time.RFC3339, j.Start); err != nil {
		return Digest{}, fmt.Errorf("digest %s: digestStartTime: %w", j.Object, err)
	}
	if d.End, err = time.Parse(time.RFC3339, j.End); err != nil {
		return Digest{}, fmt.Errorf("digest %s: digestEndTime: %w", j.Object, err)
	}
	if d.PreviousObject != "" && !isSHA256(j.PreviousAlg) {
		return Digest{}, fmt.Errorf("digest %s: previous digest hashed with %q, not SHA-256", j.Object, j.PreviousAlg)
	}
	for _, l := range j.Logs {
		if !isSHA256(l.Alg) {
			return Digest{}, fmt.Errorf("digest %s: %s hashed with %q, not SHA-256", j.Object, l.Object, l.Alg)
		}
		d.Logs = append(d.Logs, DigestLog{Bucket: l.Bucket, Object: l.Object, Hash: strings.ToLower(l.Hash)})
	}
	return d, nil
}

// isSHA256 accepts the algorithm's name as digests spell it; an empty one is taken as SHA-256.
func isSHA256(alg string) bool { return alg == "" || strings.EqualFold(alg, "SHA-256") }

// Chain names the chain a digest belongs to: its account, region and trail, which is its
// object's file name without the time stamp. Digests of one chain link to each other.
func (d Digest) Chain() string {
	name := strings.TrimSuffix(BaseName(d.Object), "_backfill.json.gz")
	if i := strings.LastIndexByte(name, '_'); i > 0 {
		name = name[:i]
	}
	return name
}

// HomeRegion is the home region of the digest's trail, from its object's name
// (…_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_TIME.json.gz): CloudTrail's keys are per region.
func (d Digest) HomeRegion() string {
	parts := strings.Split(d.Chain(), "_")
	if len(parts) < 5 {
		return ""
	}
	return parts[len(parts)-1]
}

// VerifySignature checks sig (hex), CloudTrail's SHA256withRSA signature of this digest, whose
// plain content hashes plainSHA (hex), against key (DER: PKCS #1, or PKIX). The signature
// covers the end time, the digest's S3 location, that hash and the previous signature, which
// chains each digest to the one before.
func (d Digest) VerifySignature(plainSHA, sig string, key []byte) error {
	pub, err := x509.ParsePKCS1PublicKey(key)
	if err != nil {
		k, perr := x509.ParsePKIXPublicKey(key)
		rk, ok := k.(*rsa.PublicKey)
		if perr != nil || !ok {
			return fmt.Errorf("public key %s: %w", d.Fingerprint, err)
		}
		pub = rk
	}
	raw, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("signature of %s: %w", d.Object, err)
	}
	signed := sha256.Sum256([]byte(d.EndText + "\n" + d.Bucket + "/" + d.Object + "\n" + plainSHA + "\n" + d.PreviousSignature))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, signed[:], raw); err != nil {
		return fmt.Errorf("signature of %s: %w", d.Object, err)
	}
	return nil
}

// Region is the region a digest covers, read from its object's path (…/CloudTrail-Digest/REGION/…).
func (d Digest) Region() string {
	_, rest, ok := strings.Cut(d.Object, "/CloudTrail-Digest/")
	if !ok {
		return ""
	}
	region, _, _ := strings.Cut(rest, "/")
	return region
}

// BaseName is the last part of a path, an S3 key or an archive entry ('/', '\' and the '!'
// between archive levels all separate): CloudTrail's file names are unique on their own.
func BaseName(p string) string {
	if i := strings.LastIndexAny(p, `/\!`); i >= 0 {
		p = p[i+1:]
	}
	return strings.TrimSpace(p)
}

// logFileName is how CloudTrail names a log file: account, region, delivery time (to the minute).
var logFileName = regexp.MustCompile(`^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json(\.gz)?$`)

// LogFileName reads the account, region and delivery time from a CloudTrail log file's name;
// ok is false for any other name.
func LogFileName(name string) (account, region string, delivered time.Time, ok bool) {
	m := logFileName.FindStringSubmatch(BaseName(name))
	if m == nil {
		return "", "", time.Time{}, false
	}
	t, err := time.Parse("20060102T1504Z", m[3])
	if err != nil {
		return "", "", time.Time{}, false
	}
	return m[1], m[2], t, true
}
