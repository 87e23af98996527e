package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Doc is an event evaluated against queries in memory, with the same meaning as the SQL that
// Compile produces (written independently of it; tests hold the two equal).
type Doc struct{ m matcher }

// NewDoc decodes a raw event for Doc.Match.
func NewDoc(raw []byte) (*Doc, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return &Doc{matcher{raw: raw, doc: doc}}, nil
}

// Match reports whether the event matches the query (see Match).
func (d *Doc) Match(e Expr) bool {
	if e == nil {
		return true
	}
	return d.m.eval(e)
}

type matcher struct {
	raw  []byte
	doc  any
	toks []string // every value's tokens in document order, computed on first use
}

func (m *matcher) eval(e Expr) bool {
	switch x := e.(type) {
	case *And:
		for _, y := range x.X {
			if !m.eval(y) {
				return false
			}
		}
		return true
	case *Or:
		for _, y := range x.X {
			if m.eval(y) {
				return true
			}
		}
		return false
	case *Not:
		return !m.eval(x.X)
	case *Word:
		return m.word(x.Value)
	case *Term:
		return m.term(x)
	}
	return false
}

// word looks for the word's tokens as consecutive tokens of the record's values (the last one a
// prefix when the word ends in '*').
func (m *matcher) word(v Value) bool {
	if v.Any() {
		return true
	}
	if m.toks == nil {
		m.toks = valueTokens(m.raw)
	}
	want := Tokens(v.Parts[0])
	prefix := v.Wild() && prefixEnd(v.Parts[0])
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(m.toks); i++ {
		ok := true
		for k, w := range want {
			t := m.toks[i+k]
			if k == len(want)-1 && prefix {
				ok = strings.HasPrefix(t, w)
			} else {
				ok = t == w
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// valueTokens walks the JSON in document order and tokenizes every scalar value (strings,
// numbers as written, true and false; not keys, not nulls).
func valueTokens(raw []byte) []string {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	toks := []string{}
	// For each open container: is it an object, and does it expect a key next?
	type frame struct{ obj, key bool }
	var stack []frame
	done := func() { // a value ended: its object, if any, expects a key again
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].key = true
		}
	}
	for {
		t, err := d.Token()
		if err != nil {
			return toks
		}
		switch x := t.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, frame{obj: true, key: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].key {
				stack[n-1].key = false
				continue
			}
			toks = append(toks, Tokens(x)...)
		case json.Number:
			toks = append(toks, Tokens(string(x))...)
		case bool:
			toks = append(toks, map[bool]string{true: "true", false: "false"}[x])
		}
		done()
	}
}

func (m *matcher) term(t *Term) bool {
	if isTimeField(t.Field) && !t.Value.Wild() {
		if from, to, ok := parseTimeValue(t.Value.Text()); ok {
			ms, ok := m.eventTime()
			if !ok {
				return false
			}
			switch t.Op {
			case OpLT:
				return ms < from
			case OpLE:
				return ms < to
			case OpGT:
				return ms >= to
			case OpGE:
				return ms >= from
			}
			return ms >= from && ms < to
		}
	}
	for _, leaf := range leaves(m.doc, strings.Split(t.Field, ".")) {
		if leafMatch(leaf, t) {
			return true
		}
	}
	return false
}

// eventTime is the record's eventTime in Unix milliseconds.
func (m *matcher) eventTime() (int64, bool) {
	obj, _ := m.doc.(map[string]any)
	s, _ := obj["eventTime"].(string)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.UnixMilli(), true
		}
	}
	return 0, false
}

// leaves are the values at a path: keys match case-insensitively (ASCII), arrays on the way are
// looked into (their object elements), and an array at the end gives its elements.
func leaves(v any, segs []string) []any {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []any
	for k, child := range obj {
		if !asciiEqualFold(k, segs[0]) {
			continue
		}
		if len(segs) == 1 {
			if a, ok := child.([]any); ok {
				out = append(out, a...)
			} else {
				out = append(out, child)
			}
			continue
		}
		if a, ok := child.([]any); ok {
			for _, el := range a {
				out = append(out, leaves(el, segs[1:])...)
			}
		} else {
			out = append(out, leaves(child, segs[1:])...)
		}
	}
	return out
}

func leafMatch(leaf any, t *Term) bool {
	v := t.Value
	if t.Op != OpMatch {
		n, ok := leaf.(json.Number)
		if !ok {
			return false
		}
		x, err := n.Float64()
		if err != nil {
			return false
		}
		y, _ := parseNumber(v.Text())
		switch t.Op {
		case OpLT:
			return x < y
		case OpLE:
			return x <= y
		case OpGT:
			return x > y
		}
		return x >= y
	}
	if v.Any() {
		s, isStr := leaf.(string)
		return leaf != nil && !(isStr && s == "")
	}
	switch x := leaf.(type) {
	case string:
		if v.Wild() {
			return glob(asciiLower(x), v.Parts)
		}
		if asciiEqualFold(x, v.Text()) {
			return true
		}
		if p, err := netip.ParsePrefix(v.Text()); err == nil {
			a, err := netip.ParseAddr(x)
			return err == nil && p.Contains(a)
		}
	case json.Number:
		if v.Wild() {
			return false
		}
		want, ok := parseNumber(v.Text())
		got, err := x.Float64()
		return ok && err == nil && want == got
	case bool:
		return !v.Wild() && asciiEqualFold(v.Text(), map[bool]string{true: "true", false: "false"}[x])
	}
	return false
}

// glob matches s against literal parts separated by '*' wildcards, comparing ASCII-lowered text.
func glob(s string, parts []string) bool {
	first := asciiLower(parts[0])
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	last := asciiLower(parts[len(parts)-1])
	for _, p := range parts[1 : len(parts)-1] {
		p = asciiLower(p)
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func asciiEqualFold(a, b string) bool { return len(a) == len(b) && asciiLower(a) == asciiLower(b) }
