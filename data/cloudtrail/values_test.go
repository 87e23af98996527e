package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fastjson"
)

// valuesOracle is how the full-text text was made before AppendValues: a fastjson tree, visited.
func valuesOracle(raw []byte) ([]byte, bool) {
	var p fastjson.Parser
	v, err := p.ParseBytes(raw)
	if err != nil {
		return nil, false
	}
	var walk func(dst []byte, v *fastjson.Value) []byte
	walk = func(dst []byte, v *fastjson.Value) []byte {
		switch v.Type() {
		case fastjson.TypeObject:
			o, _ := v.Object()
			o.Visit(func(_ []byte, x *fastjson.Value) { dst = walk(dst, x) })
		case fastjson.TypeArray:
			a, _ := v.Array()
			for _, x := range a {
				dst = walk(dst, x)
			}
		case fastjson.TypeString:
			if len(dst) > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, v.GetStringBytes()...)
		case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
			if len(dst) > 0 {
				dst = append(dst, ' ')
			}
			dst = v.MarshalTo(dst)
		}
		return dst
	}
	return walk(nil, v), true
}

// checkValues compares AppendValues with the oracle on valid JSON, and wants an error on
// invalid JSON (where fastjson is lenient).
func checkValues(t testing.TB, raw []byte) {
	t.Helper()
	got, err := AppendValues(nil, raw)
	if !json.Valid(raw) {
		if err == nil {
			t.Errorf("AppendValues(%.80q): no error for invalid JSON", raw)
		}
		return
	}
	want, ok := valuesOracle(raw)
	if !ok { // nested past fastjson's limit: it indexed no text
		if err == nil {
			t.Errorf("AppendValues(%.80q): no error where fastjson refused", raw)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendValues(%.80q): %v", raw, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendValues(%.80q):\n got %.300q\nwant %.300q", raw, got, want)
	}
}

func TestAppendValues(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "inputs", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, data)
		for _, raw := range decodeRecords(data) {
			checkValues(t, raw)
			checkValues(t, indented(t, raw))
		}
	}
	for i := range 500 {
		checkValues(t, genEvent(nil, i))
	}
	for _, c := range extractEdgeCases {
		checkValues(t, []byte(c))
	}
	for _, c := range []string{`""`, `["", "a", "", "b"]`, `{"a":null,"b":[null,true,false,-0.5e+3]}`, `{"k":"\u00e9\ud83d\ude00\n\\"}`,
		`{"a":{"b":{"c":["x",{"d":"y"}]}}}`, `  {"dup":"1","dup":"2"}  `, `{"a":1} x`, `{"a":`, `[1,]`, `{"a" 1}`, `"\ud800"`} {
		checkValues(t, []byte(c))
	}
	dst, err := AppendValues([]byte("kept"), []byte(`{"a":"b"}`))
	if err != nil || string(dst) != "kept b" {
		t.Errorf("appending to %q gave %q, %v", "kept", dst, err)
	}
}

func TestAppendValuesSharedData(t *testing.T) {
	root := sharedData(t)
	files, err := filepath.Glob(filepath.Join(root, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range decodeRecords(data) {
			checkValues(t, raw)
		}
	}
}

func FuzzAppendValues(f *testing.F) {
	for _, c := range extractEdgeCases {
		f.Add([]byte(c))
	}
	f.Add(genEvent(nil, 3))
	f.Fuzz(func(t *testing.T, raw []byte) { checkValues(t, raw) })
}

func BenchmarkAppendValues(b *testing.B) {
	raws := make([][]byte, 100)
	for i := range raws {
		raws[i] = genEvent(nil, i)
	}
	b.Run("walk", func(b *testing.B) {
		var dst []byte
		for i := 0; b.Loop(); i++ {
			dst, _ = AppendValues(dst[:0], raws[i%len(raws)])
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			valuesOracle(raws[i%len(raws)])
		}
	})
}
