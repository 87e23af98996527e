package query

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestFieldValues(t *testing.T) {
	raw := []byte(`{"eventName":"GetObject","errorCode":"","userAgent":null,"readOnly":true,
		"requestParameters":{"bucketName":"Prod","maxResults":50,"filter":{"a":[1, 2]},"names":["a","A","b",null,""]},
		"resources":[{"ARN":"arn:1","accountId":"111"},{"ARN":"arn:2","accountId":"111"},{"ARN":"ARN:1"},"loose",[{"ARN":"deep"}]],
		"Dup":"first","dup":"second"}`)
	tests := []struct {
		field string
		want  []string
	}{
		{"eventName", []string{"GetObject"}},
		{"EVENTNAME", []string{"GetObject"}},
		{"errorCode", nil}, // empty: no value
		{"userAgent", nil}, // null: no value
		{"absent", nil},
		{"readOnly", []string{"true"}},
		{"requestParameters.maxResults", []string{"50"}},
		{"requestParameters.bucketname", []string{"Prod"}},
		// Each value once per event, spellings that differ in case as one.
		{"resources.accountId", []string{"111"}},
		{"resources.ARN", []string{"arn:1", "arn:2"}},
		// An array at the end gives its elements; an object is given as JSON.
		{"requestParameters.names", []string{"a", "b"}},
		{"requestParameters.filter", []string{`{"a":[1,2]}`}},
		{"requestParameters.filter.a", []string{"1", "2"}},
		{"eventName.x", nil},
	}
	for _, tc := range tests {
		got, err := FieldValues(raw, tc.field)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.field, got, err, tc.want)
		}
	}
	// Keys that differ in case only: both are the field, as the matcher reads them.
	got, _ := FieldValues(raw, "dup")
	slices.Sort(got)
	if !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("dup: %q", got)
	}
	if _, err := FieldValues([]byte(`{"a":`), "a"); err == nil {
		t.Error("a broken record gave no error")
	}
}

// TestFieldValuesMatch: every value FieldValues gives is one field:value matches on the record.
func TestFieldValuesMatch(t *testing.T) {
	raw := []byte(`{"a":{"b":[{"c":"X*Y"},{"c":"10.0.0.0/8"},{"c":3.5},{"c":false},{"c":"with \"quote\" and space"}]}}`)
	d, err := NewDoc(raw)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := FieldValues(raw, "a.b.c")
	if err != nil || len(vs) != 5 {
		t.Fatalf("%q, %v", vs, err)
	}
	for _, v := range vs {
		if q := FieldValue("a.b.c", v); !d.Match(MustParse(q)) {
			t.Errorf("%q does not match the record it came from", q)
		}
	}
}

func TestCountExpr(t *testing.T) {
	for field, want := range map[string]bool{"eventName": true, "userIdentity.arn": true, "useragent": true,
		"userIdentity.userName": false, "requestParameters.bucketName": false, "rule": false, "a b": false} {
		if _, ok := CountExpr(field); ok != want {
			t.Errorf("CountExpr(%q): %v, want %v", field, ok, want)
		}
	}
}

// FuzzFieldValues holds the walker over raw bytes to what decoding the record gives (the
// matcher's leaves): the same values on any record without repeated keys, never a panic, and an
// error only for what is no JSON object.
// TestHolder: a record passes when a string in it spells the field's last step in any case, or
// when it has \u escapes (a key may be spelled with them); otherwise it fails.
func TestHolder(t *testing.T) {
	for _, c := range []struct {
		raw, field string
		want       bool
	}{
		{`{"requestParameters":{"bucketName":"b"}}`, "requestParameters.bucketName", true},
		{`{"requestParameters":{"BUCKETNAME":"b"}}`, "requestparameters.bucketname", true},
		{`{"requestParameters":{"key":"k"},"note":"bucketname"}`, "requestParameters.bucketName", true}, // a value: walked
		{`{"requestParameters":{"bucket\u004eame":"b"}}`, "requestParameters.bucketName", true},
		{`{"requestParameters":{"key":"k"}}`, "requestParameters.bucketName", false},
		{`{"requestParameters":{"xbucketName":"b","bucketNames":1}}`, "requestParameters.bucketName", false},
		{`{"bucketName":"b"}`, "bucketName", true},
		{`{"Id_1":1}`, "a.id_1", true},
		{`{"id_2":1}`, "a.id_1", false},
		{`bucketName"`, "bucketName", false},
	} {
		if got := Holder(c.field)([]byte(c.raw)); got != c.want {
			t.Errorf("Holder(%q)(%s) = %v, want %v", c.field, c.raw, got, c.want)
		}
	}
}

func FuzzFieldValues(f *testing.F) {
	for _, s := range []string{
		`{"eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k"}}`,
		`{"resources":[{"ARN":"a","type":"t"},{"ARN":"b"},"x",[1]],"n":[1,2.5e3,-0,true,null,""]}`,
		`{"a":{"b":{"c":"\u00e9\"q\\"}},"A":{"B":[{"C":["x",{"d":1}]}]}}`,
		`{"requestParameters":{"bucket\u004eame":"x"}}`, `{"requestparameters":{"BUCKETNAME":"y"},"bucketName":1}`,
		`{"a":"\xff"}`, `{"a":[]}`, `{}`, ` {"a" : [ 1 , 2 ] } `, `{"a":`, `[1]`, `{"a":1}x`,
	} {
		f.Add([]byte(s), "a.b.c")
		f.Add([]byte(s), "requestParameters.bucketName")
		f.Add([]byte(s), "resources.ARN")
		f.Add([]byte(s), "n")
	}
	f.Fuzz(func(t *testing.T, raw []byte, field string) {
		if !IsField(field) {
			return
		}
		got, err := FieldValues(raw, field)
		if len(got) > 0 && !Holder(field)(raw) {
			t.Fatalf("%q by %s: values %q in a record Holder says cannot hold them", raw, field, got)
		}
		var doc any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if !json.Valid(raw) || d.Decode(&doc) != nil {
			return // the store holds only records that decode; no panic is all that counts here
		}
		if _, isObj := doc.(map[string]any); !isObj {
			if err == nil {
				t.Fatalf("%q: no error for what is no object", raw)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q by %s: %v", raw, field, err)
		}
		if repeatsKey(raw) {
			return
		}
		var want []string
		for _, leaf := range leaves(doc, strings.Split(field, ".")) {
			var s string
			switch x := leaf.(type) {
			case nil:
				continue
			case string:
				s = x
			case json.Number:
				s = x.String()
			case bool:
				s = strconv.FormatBool(x)
			default:
				b, _ := json.Marshal(x)
				s = string(b)
			}
			if s != "" && !slices.ContainsFunc(want, func(o string) bool { return asciiEqualFold(o, s) }) {
				want = append(want, s)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.EqualFunc(got, want, func(a, b string) bool { return asciiEqualFold(a, b) }) && !objectsDiffer(got, want) {
			t.Fatalf("%q by %s: %q, decoding gives %q", raw, field, got, want)
		}
	})
}

// repeatsKey reports whether an object in raw repeats a key exactly (decoding keeps the last).
func repeatsKey(raw []byte) bool {
	d := json.NewDecoder(bytes.NewReader(raw))
	var stack []map[string]bool
	expectKey := []bool{}
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, map[string]bool{})
				expectKey = append(expectKey, true)
				continue
			case '[':
				stack = append(stack, nil)
				expectKey = append(expectKey, false)
				continue
			default:
				stack, expectKey = stack[:len(stack)-1], expectKey[:len(expectKey)-1]
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1] != nil && expectKey[n-1] {
				if stack[n-1][x] {
					return true
				}
				stack[n-1][x] = true
				expectKey[n-1] = false
				continue
			}
		}
		if n := len(expectKey); n > 0 && stack[n-1] != nil {
			expectKey[n-1] = true // a value ends: a key comes next
		}
	}
}

// objectsDiffer: objects as values are compact JSON on both sides but may order keys
// differently (encoding/json sorts a map's keys); any such pair is let through.
func objectsDiffer(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(strings.HasPrefix(got[i], "{") && strings.HasPrefix(want[i], "{")) &&
			!(strings.HasPrefix(got[i], "[") && strings.HasPrefix(want[i], "[")) {
			return false
		}
	}
	return true
}

// FuzzMatchTerm holds MatchTerm, which search runs in SQL (TermFunc), to Doc.Match, written apart
// from it: on any record that decodes to an object without a repeated key, for any term on a
// field of the record, both say the same.
func FuzzMatchTerm(f *testing.F) {
	for _, s := range []string{
		`{"eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k.csv","n":100}}`,
		`{"resources":[{"ARN":"arn:aws:s3:::a","type":"t"},{"ARN":"b"},"x",[1]],"n":[1,2.5e3,-0,true,null,""]}`,
		`{"a":{"b":{"c":"\u00e9\"q\\"}},"A":{"B":[{"C":["x",{"d":1}]}]}}`,
		`{"requestParameters":{"bucket\u004eame":"x","ip":"10.1.2.3"},"t":true,"f":false,"z":null,"e":""}`,
	} {
		for _, term := range []string{"requestParameters.bucketName:b*", "resources.ARN:arn*", "n:2500", "n>1", "a.b.c:*",
			"A.B.C:x", "requestParameters.ip:10.0.0.0/8", "t:true", "z:*", "e:*", "requestParameters.n<=100", "n:*"} {
			f.Add([]byte(s), term)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, term string) {
		e, err := Parse(term)
		if err != nil {
			return
		}
		tm, ok := e.(*Term)
		if !ok || isTimeField(tm.Field) || isRuleField(tm.Field) {
			return
		}
		var doc any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if !json.Valid(raw) || d.Decode(&doc) != nil || repeatsKey(raw) {
			return
		}
		if _, isObj := doc.(map[string]any); !isObj {
			return
		}
		got, err := MatchTerm(raw, tm.String())
		if err != nil {
			t.Fatalf("%q against %s: %v", raw, tm, err)
		}
		dm, err := NewDoc(raw)
		if err != nil {
			t.Fatal(err)
		}
		want := dm.Match(tm)
		if got != want {
			t.Fatalf("%q against %s: MatchTerm %v, Doc.Match %v", raw, tm, got, want)
		}
	})
}
