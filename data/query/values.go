package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Counting the matches of a query by the values of a field ("stack counting") must agree with
// matching: each value counted for an event is one that field:value matches on it, and an event
// without a value is one that field:* does not match. Both functions below follow the matcher's
// reading of a record (leaves and leafMatch).

// CountExpr is an SQL expression over an events row aliased e that is exactly an event's value
// of field (the empty string when the event has none), when a column holds it; ok is false when
// only the raw record can tell (see FieldValues). It is made here from the column table, never
// from the caller's text.
func CountExpr(field string) (expr string, ok bool) {
	if !IsField(field) {
		return "", false
	}
	c, known := columns[CanonicalField(field)]
	switch {
	case !known:
		return "", false
	case c.coded:
		return "coalesce((SELECT value FROM " + c.dict + " WHERE id = e." + c.name + "_id), '')", true
	case c.exact:
		return "e." + c.name, true
	case c.name == "principal_arn":
		// Without an ARN in the record the column names the principal otherwise
		// (cloudtrail.PrincipalOf): by its service, principal ID or type.
		return "CASE WHEN e.principal_arn IN (e.invoked_by, e.principal_id, e.principal_type) THEN '' ELSE e.principal_arn END", true
	}
	return "", false
}

// IsField reports whether field names a field a query can test (a dotted path), which the
// matches can be counted by.
func IsField(field string) bool { return fieldPath.MatchString(field) && !isRuleField(field) }

// FieldValues returns the values of field in a raw record as field:value names them, each once
// (values that differ in ASCII case only are one): strings as they are (the empty string is no
// value), numbers as written, true and false; null is no value. A path goes through arrays
// (their object elements), and an array at its end gives its elements. An object or array as a
// value is given as its compact JSON (field:* matches it; no field:value names it).
//
// It reads the record's bytes without decoding what is off the path: counting a field of a
// million records is a walk over each, not a decode (BenchmarkCountValuesRecord, S3's 382k
// events by bucket: 22.0 s through encoding/json, 5.2 s walked, on one goroutine).
func FieldValues(raw []byte, field string) ([]string, error) {
	var out []string
	w := walker{b: raw}
	w.space()
	if w.peek() != '{' {
		return nil, fmt.Errorf("decode event: not a JSON object")
	}
	err := w.object(strings.Split(field, "."), func(leaf []byte) error {
		s, ok, err := leafText(leaf)
		if ok && !slices.ContainsFunc(out, func(o string) bool { return asciiEqualFold(o, s) }) {
			out = append(out, s)
		}
		return err
	})
	if err == nil {
		w.space()
		if w.i != len(w.b) {
			err = w.errorf("data after the record")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return out, nil
}

// RecordValues reads field's values from raw records as FieldValues does, passing over those
// Holder says cannot hold it: what a count by a field only the records hold runs on each.
func RecordValues(field string) func(raw []byte) ([]string, error) {
	holds := Holder(field)
	return func(raw []byte) ([]string, error) {
		if !holds(raw) {
			return nil, nil
		}
		return FieldValues(raw, field)
	}
}

// Holder returns a quick test of whether a record can hold a value of field: false only when
// none of its strings spells the field's last step, in any ASCII case. A count by a field that
// few records have (a bucket, a secret's id) then walks only those: two searches for the step's
// last letter before a quote take a fraction of a walk. Keys are letters, digits and '_'
// (IsField), so a record can spell one otherwise only with \u escapes: one that has any passes.
func Holder(field string) func(raw []byte) bool {
	last := field[strings.LastIndexByte(field, '.')+1:]
	if last == "" || !fieldPath.MatchString(last) {
		return func([]byte) bool { return true }
	}
	c := last[len(last)-1]
	ends := [][]byte{{c, '"'}}
	if lo, up := c|0x20, c&^0x20; 'a' <= lo && lo <= 'z' {
		ends = [][]byte{{lo, '"'}, {up, '"'}}
	}
	escape := []byte(`\u`)
	return func(raw []byte) bool {
		if bytes.Contains(raw, escape) {
			return true
		}
		for _, e := range ends {
			for i := 0; ; {
				j := bytes.Index(raw[i:], e)
				if j < 0 {
					break
				}
				end := i + j + 1 // the quote after the step's last letter
				if start := end - len(last); start > 0 && raw[start-1] == '"' && foldedEqual(raw[start:end], last) {
					return true
				}
				i += j + 1
			}
		}
		return false
	}
}

// foldedEqual reports whether b and s, of one length, are equal in ASCII case folding.
func foldedEqual(b []byte, s string) bool {
	for i := range len(s) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// walker reads JSON from b at i: values on a path are handed over as raw bytes, the rest is
// skipped. Like the matcher, keys match in any ASCII case; unlike it, a key repeated in one
// object is read each time (CloudTrail never repeats one).
type walker struct {
	b []byte
	i int
}

func (w *walker) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", w.i, fmt.Sprintf(format, args...))
}

func (w *walker) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
}

func (w *walker) peek() byte {
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

// object reads the object at i, handing leaf the values at segs under it.
func (w *walker) object(segs []string, leaf func([]byte) error) error {
	w.i++ // '{'
	w.space()
	if w.peek() == '}' {
		w.i++
		return nil
	}
	for {
		w.space()
		key, err := w.key()
		if err != nil {
			return err
		}
		w.space()
		if w.peek() != ':' {
			return w.errorf("want ':'")
		}
		w.i++
		w.space()
		if len(key) == len(segs[0]) && foldedEqual(key, segs[0]) {
			err = w.member(segs, leaf)
		} else {
			err = w.skip()
		}
		if err != nil {
			return err
		}
		if more, err := w.more('}'); !more {
			return err
		}
	}
}

// more reads what follows an item of an object or array closed by end: a comma (more items
// follow) or end.
func (w *walker) more(end byte) (bool, error) {
	w.space()
	switch w.peek() {
	case ',':
		w.i++
		return true, nil
	case end:
		w.i++
		return false, nil
	}
	return false, w.errorf("want ',' or '%c'", end)
}

// member reads the value of a key that matched segs[0].
func (w *walker) member(segs []string, leaf func([]byte) error) error {
	if w.peek() != '[' {
		return w.step(segs, leaf)
	}
	w.i++
	w.space()
	if w.peek() == ']' {
		w.i++
		return nil
	}
	for {
		w.space()
		if err := w.step(segs, leaf); err != nil {
			return err
		}
		if more, err := w.more(']'); !more {
			return err
		}
	}
}

// step reads one value reached by segs[0]: the leaf itself at the path's end, else the object
// to look into (anything else is skipped).
func (w *walker) step(segs []string, leaf func([]byte) error) error {
	if len(segs) == 1 {
		start := w.i
		if err := w.skip(); err != nil {
			return err
		}
		return leaf(w.b[start:w.i])
	}
	if w.peek() == '{' {
		return w.object(segs[1:], leaf)
	}
	return w.skip()
}

// key reads an object's key (unquoted).
// key reads the key at i: the record's own bytes unless it has escapes (a copy would be a tenth
// of a search's time by a field).
func (w *walker) key() ([]byte, error) {
	start := w.i
	escaped, err := w.str()
	if err != nil {
		return nil, err
	}
	if !escaped {
		return w.b[start+1 : w.i-1], nil
	}
	var k string
	if err := json.Unmarshal(w.b[start:w.i], &k); err != nil {
		return nil, w.errorf("%v", err)
	}
	return []byte(k), nil
}

// str skips the string at i, saying whether it holds escapes.
func (w *walker) str() (escaped bool, err error) {
	if w.peek() != '"' {
		return false, w.errorf("want a string")
	}
	w.i++
	for {
		end := bytes.IndexByte(w.b[w.i:], '"')
		if end < 0 {
			return false, w.errorf("unterminated string")
		}
		esc := bytes.IndexByte(w.b[w.i:w.i+end], '\\')
		if esc < 0 {
			w.i += end + 1
			return escaped, nil
		}
		escaped = true
		w.i += esc + 2 // past the backslash and what it escapes, which may be a quote
		if w.i > len(w.b) {
			return false, w.errorf("unterminated string")
		}
	}
}

// skip skips the value at i.
func (w *walker) skip() error {
	switch c := w.peek(); c {
	case '"':
		_, err := w.str()
		return err
	case '{', '[':
		depth := 0
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case '"':
				if _, err := w.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					w.i++
					return nil
				}
			}
			w.i++
		}
		return w.errorf("unterminated %c", c)
	case 0:
		return w.errorf("want a value")
	}
	start := w.i
	for w.i < len(w.b) && !strings.ContainsRune(",}] \t\n\r", rune(w.b[w.i])) {
		w.i++
	}
	if !json.Valid(w.b[start:w.i]) {
		return w.errorf("bad value %q", w.b[start:w.i])
	}
	return nil
}

// leafText is a value's text as FieldValues gives it; ok is false for no value.
func leafText(v []byte) (s string, ok bool, err error) {
	switch v[0] {
	case '"':
		if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			return string(in), len(in) > 0, nil
		}
		err = json.Unmarshal(v, &s) // escapes, or bytes that are no UTF-8 (read as U+FFFD)
		return s, err == nil && s != "", err
	case 'n':
		return "", false, nil
	case '{', '[':
		var b bytes.Buffer
		err = json.Compact(&b, v)
		return b.String(), err == nil, err
	}
	return string(v), true, nil // a number, true or false, as written
}
