package cli

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/source/sourcetest"
)

// upload puts every file under dir into the bucket "trail" at its path, with the metadata meta
// gives it (meta may be nil), and returns how many it put.
func upload(t *testing.T, backend *s3mem.Backend, dir string, meta func(rel string, body []byte) map[string]string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m := map[string]string{}
		if meta != nil {
			if got := meta(rel, b); got != nil {
				m = got
			}
		}
		n++
		_, err = backend.PutObject("trail", filepath.ToSlash(rel), m, bytes.NewReader(b), int64(len(b)), nil)
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("upload %d files: %v", n, err)
	}
	return n
}

// flaky fails the first download of every other object with a 500 before passing requests on,
// so the load only succeeds through the SDK's retries. Each download waits delay first, as one
// from a distant region does, and most counts the downloads under way at once.
type flaky struct {
	next           http.Handler
	mu             sync.Mutex
	seen           map[string]bool
	fails          atomic.Int64
	delay          time.Duration
	inflight, most atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && !r.URL.Query().Has("list-type") {
		n := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for m := f.most.Load(); n > m && !f.most.CompareAndSwap(m, n); m = f.most.Load() {
		}
		time.Sleep(f.delay)
		f.mu.Lock()
		first := !f.seen[r.URL.Path]
		f.seen[r.URL.Path] = true
		fail := first && len(f.seen)%2 == 0
		f.mu.Unlock()
		if fail {
			f.fails.Add(1)
			http.Error(w, "injected fault", http.StatusInternalServerError)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

// TestIngestFromS3 loads the demo organisation's S3-layout files through the real AWS SDK
// client from an S3 API server on loopback that fails some downloads and answers each after a
// delay, and checks the case holds exactly what loading the same files from disk gives, and that
// the objects were downloaded several at once.
func TestIngestFromS3(t *testing.T) {
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if _, stderr, code := run(t, "demo", "--case", "", "--out-dir", files, "--days", "1", "--seed", "3"); code != 0 {
		t.Fatalf("demo --out-dir: %d %s", code, stderr)
	}
	sourcetest.IsolateAWS(t, "us-east-1")
	backend := s3mem.New()
	if err := backend.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	n := upload(t, backend, files, nil)
	h := &flaky{next: gofakes3.New(backend).Server(), seen: map[string]bool{}, delay: 10 * time.Millisecond}
	srv := httptest.NewServer(h)
	defer srv.Close()

	s3Case := filepath.Join(dir, "s3.tsc")
	out, stderr, code := run(t, "ingest", "--case", s3Case, "--format", "json", "--endpoint", srv.URL, "s3://trail/AWSLogs/")
	if code != 0 {
		t.Fatalf("ingest from S3: exit %d\n%s\n%s", code, out, stderr)
	}
	if h.fails.Load() == 0 {
		t.Fatal("no fault was injected")
	}
	if !strings.Contains(stderr, "listing   ") {
		t.Errorf("no word of the listing on stderr:\n%s", stderr)
	}
	if _, stderr, code := run(t, "ingest", "--case", s3Case, "--endpoint", srv.URL, "--since", "2031-01-01", "s3://trail/AWSLogs/"); code != 0 ||
		!strings.Contains(stderr, "nothing loaded: no file found in s3://trail/AWSLogs/ for the days, accounts and CloudTrail regions asked for") {
		t.Errorf("days with no file: exit %d, %q", code, stderr)
	}
	if m := h.most.Load(); m <= int64(runtime.GOMAXPROCS(0)) {
		t.Errorf("at most %d downloads at once: one per decoder, none fetched ahead", m)
	}
	diskCase := filepath.Join(dir, "disk.tsc")
	if _, stderr, code := run(t, "ingest", "--case", diskCase, files); code != 0 {
		t.Fatalf("ingest from disk: %d %s", code, stderr)
	}
	var s3Info, diskInfo map[string]any
	o1, _, _ := run(t, "info", "--case", s3Case, "--format", "json")
	o2, _, _ := run(t, "info", "--case", diskCase, "--format", "json")
	json.Unmarshal([]byte(o1), &s3Info)
	json.Unmarshal([]byte(o2), &diskInfo)
	if s3Info["events"] == nil || s3Info["events"] != diskInfo["events"] || s3Info["events"].(float64) < 1000 {
		t.Errorf("events from S3 %v, from disk %v", s3Info["events"], diskInfo["events"])
	}
	if s3Info["files_loaded"] != float64(n) {
		t.Errorf("files loaded from S3 %v, want %d", s3Info["files_loaded"], n)
	}
	// The demo's export has digests: every log file read, from S3 or from disk, checks valid.
	for _, c := range []string{s3Case, diskCase} {
		_, stderr, code := run(t, "verify", "--case", c)
		var files, digests, valid int
		fmt.Sscanf(stderr, "%d files checked against %d digests: %d valid.", &files, &digests, &valid)
		if code != 0 || digests < 24 || files < digests || valid != files {
			t.Errorf("verify %s: exit %d, %q", filepath.Base(c), code, stderr)
		}
	}
	for _, secret := range []string{"test-secret"} {
		b, _ := os.ReadFile(s3Case)
		if bytes.Contains(b, []byte(secret)) || strings.Contains(out+stderr, secret) {
			t.Errorf("the AWS secret leaked into the case or the output")
		}
	}
}

// TestVerifySignaturesFromS3: digests loaded from S3 keep the signature in their metadata, the
// load fetches CloudTrail's public keys for them (through the real SDK from a CloudTrail API on
// loopback) and keeps them, and verify checks every signature, then offline too: a digest
// signed by someone else is named.
func TestVerifySignaturesFromS3(t *testing.T) {
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if _, stderr, code := run(t, "demo", "--case", "", "--out-dir", files, "--days", "1", "--seed", "4"); code != 0 {
		t.Fatalf("demo --out-dir: %d %s", code, stderr)
	}
	sourcetest.IsolateAWS(t, "us-east-1")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	backend := s3mem.New()
	if err := backend.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	var fingerprint, forged string
	signedCount := 0
	upload(t, backend, files, func(rel string, b []byte) map[string]string {
		if !strings.Contains(rel, "CloudTrail-Digest") {
			return nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		dg, err := cloudtrail.ParseDigest(plain)
		if err != nil {
			t.Fatal(err)
		}
		fingerprint = dg.Fingerprint
		signer := key
		if forged == "" {
			signer, forged = forger, dg.Object
		}
		h := sha256.Sum256(plain)
		msg := sha256.Sum256([]byte(dg.EndText + "\n" + dg.Bucket + "/" + dg.Object + "\n" + hex.EncodeToString(h[:]) + "\n" + dg.PreviousSignature))
		sig, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, msg[:])
		if err != nil {
			t.Fatal(err)
		}
		signedCount++
		// As gofakes3 keeps them: the headers a PUT would carry.
		return map[string]string{"X-Amz-Meta-Signature": hex.EncodeToString(sig), "X-Amz-Meta-Signature-Algorithm": "SHA256withRSA"}
	})
	if signedCount < 24 {
		t.Fatalf("%d digests signed", signedCount)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	var asked atomic.Int64
	ct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "CloudTrail_20131101.ListPublicKeys" {
			http.Error(w, "unexpected call", http.StatusBadRequest)
			return
		}
		asked.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"PublicKeyList":[{"Fingerprint":%q,"Value":%q,"ValidityStartTime":1704067200,"ValidityEndTime":1767225600}]}`,
			fingerprint, base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&key.PublicKey)))
	}))
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", ct.URL)

	casePath := filepath.Join(dir, "s3.tsc")
	if out, stderr, code := run(t, "ingest", "--case", casePath, "--endpoint", s3srv.URL, "s3://trail/AWSLogs/"); code != 0 {
		t.Fatalf("ingest: exit %d\n%s\n%s", code, out, stderr)
	}
	ct.Close() // the keys are in the case now: the check runs offline
	if asked.Load() == 0 {
		t.Fatal("no public key was asked for")
	}
	out, stderr, code := run(t, "verify", "--case", casePath, "--format", "csv")
	want := fmt.Sprintf("%d signatures: %d valid, 1 not CloudTrail's.", signedCount, signedCount-1)
	if code != ExitPartial || !strings.Contains(stderr, want) || !strings.Contains(out, "modified,signature,"+forged+",") {
		t.Errorf("verify: exit %d, want %q in\n%s\n%s", code, want, stderr, out)
	}
}
