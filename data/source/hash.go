package source

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// storedHash hashes a file's or an archive entry's bytes as they are read, beneath any gzip
// layer: the digest names the file as it is kept (and costs a tenth of hashing the decompressed
// JSON). A stream found to be an archive stops hashing: its entries are hashed each.
type storedHash struct {
	r io.Reader
	h hash.Hash // nil once stopped
}

func newStoredHash(r io.Reader) *storedHash { return &storedHash{r: r, h: sha256.New()} }

func (s *storedHash) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.h != nil {
		s.h.Write(p[:n])
	}
	return n, err
}

func (s *storedHash) stop() { s.h = nil }

// sum reads what is left of the stream, so that the digest covers all of it, and returns it.
func (s *storedHash) sum() (string, error) {
	if s.h == nil {
		return "", nil
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		return "", err
	}
	return hex.EncodeToString(s.h.Sum(nil)), nil
}
