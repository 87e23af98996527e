package cloudtrail

import (
	"hash/fnv"
	"strings"
	"testing"
)

// TestEventKey pins the key to FNV-1a of the text with ASCII letters folded (case files hold it).
func TestEventKey(t *testing.T) {
	for _, id := range []string{"", "abc", "6F0C7B0E-1B2A-4C3D-9E8F-0A1B2C3D4E5F", "sha256:00ff", "Ünïcode-ID"} {
		h := fnv.New64a()
		h.Write([]byte(strings.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, id)))
		if got, want := EventKey(id), int64(h.Sum64()>>1); got != want {
			t.Errorf("EventKey(%q) = %d, want %d", id, got, want)
		}
	}
	if got := EventKey("abc"); got != 0x738fd10c82a0aba5 {
		t.Errorf("EventKey(abc) = %#x: the key of stored cases changed", got)
	}
}
