package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"testing/iotest"
)

// FuzzDecode checks that no input makes Decode panic, that every record it emits is valid
// compact JSON that Extract can take, that reading byte by byte changes nothing, and that
// a document encoding/json accepts is never reported as a syntax error. Seeds live in
// testdata/fuzz/FuzzDecode (taken from the fixtures and the cases in TestDecodeInline).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"Records":[` + ev + `]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []Record
		st, err := DecodeContext(t.Context(), bytes.NewReader(data), func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		if len(recs) != st.Records() {
			t.Fatalf("emitted %d, stats say %d", len(recs), st.Records())
		}
		for _, r := range recs {
			checkCompact(t, r.Raw)
		}
		var se *SyntaxError
		if errors.As(err, &se) && json.Valid(data) {
			t.Fatalf("valid JSON reported as %v", err)
		}
		if errors.Is(err, ErrEmpty) && len(bytes.TrimSpace(bytes.TrimPrefix(data, bom))) != 0 {
			t.Fatalf("non-empty input reported empty")
		}
		var slow []Record
		slowSt, slowErr := DecodeContext(t.Context(), iotest.HalfReader(bytes.NewReader(data)), func(r Record) error {
			slow = append(slow, r)
			return nil
		})
		if slowSt != st || errString(slowErr) != errString(err) || !sameRecords(slow, recs) {
			t.Fatalf("small reads differ: %+v %v vs %+v %v", slowSt, slowErr, st, err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
