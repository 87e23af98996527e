package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// TermFunc is the SQL function Compile uses to test an event against a term on a field that no
// column holds: trailscope_term(j.json, term) is 1 when a value of the term's field in the
// event's record matches it, term being the term's text (Term.String). The store registers it,
// since it keeps the records (packed) and reads them back; MatchTerm is its test. SQLite's
// json_each, which it replaced, read the same in 22-43 µs an event: a search by such a field over
// a case of a million events took half a minute.
const TermFunc = "trailscope_term"

// MatchTerm reports whether a value of the field of term (a term's text, as Term.String writes
// it) in the raw record matches it, with the meaning Compile gives the term. It reads the
// record's bytes as FieldValues does, after Holder, and judges each value as Doc.Match does.
func MatchTerm(raw []byte, term string) (bool, error) {
	m, err := termMatcher(term)
	if err != nil {
		return false, err
	}
	found, err := m.match(raw)
	if err != nil {
		return false, fmt.Errorf("%s: %w", term, err)
	}
	return found, nil
}

// termMatch is a term ready to test records against.
type termMatch struct {
	t     *Term
	segs  []string
	holds func(raw []byte) bool
}

// termMatchers keeps the terms met, by their text: a search tests one term against every record.
var termMatchers sync.Map

func termMatcher(text string) (*termMatch, error) {
	if m, ok := termMatchers.Load(text); ok {
		return m.(*termMatch), nil
	}
	e, err := Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", text, err)
	}
	t, ok := e.(*Term)
	if !ok {
		return nil, fmt.Errorf("%q is no term", text)
	}
	m := &termMatch{t: t, segs: strings.Split(t.Field, "."), holds: Holder(t.Field)}
	termMatchers.Store(text, m)
	return m, nil
}

// errFound stops a walk at the first value that matches.
var errFound = errors.New("found")

// match reports whether a value of the term's field in raw matches the term.
func (m *termMatch) match(raw []byte) (bool, error) {
	if !m.holds(raw) {
		return false, nil
	}
	w := walker{b: raw}
	w.space()
	if w.peek() != '{' {
		return false, nil
	}
	err := w.object(m.segs, func(leaf []byte) error {
		if leafMatch(leafValue(leaf), m.t) {
			return errFound
		}
		return nil
	})
	if err == errFound {
		return true, nil
	}
	return false, err
}

// present stands for an object or an array among a field's values: field:* counts it, no other
// term matches it.
type present struct{}

// leafValue is a raw JSON value as Doc.Match sees it decoded.
func leafValue(v []byte) any {
	switch v[0] {
	case '"':
		s, _, err := leafText(v)
		if err != nil {
			return nil
		}
		return s
	case 't':
		return true
	case 'f':
		return false
	case 'n':
		return nil
	case '{', '[':
		return present{}
	}
	return json.Number(v)
}
