package cloudtrail

import (
	"bytes"
	"fmt"
)

// Record.Extract reads the fields of a record as Decode emitted it without walking the whole
// record again. The decoder's scanner already steps over every top-level key and value while it
// copies the record; it notes there where the values Extract wants sit (recordValues), and
// Record.Extract then reads only those, skipping requestParameters, responseElements, resources
// and the rest. A decoded record is valid compact JSON, so the only error a full walk could
// still find in the values skipped is nesting deeper than Extract allows; the scanner flags
// records that may nest so deep, and those take the full walk.

// span32 is a value's place in a record; a record is at most about MaxRecordSize bytes.
type span32 struct{ from, to int32 }

// recordValues locates, in one decoded record, the top-level values Extract may read: for each
// key of sTop, the first value under the key written exactly (plain) and the first value under
// a key that unescapes to it (any), which is all that a lookup in a node depends on (see node).
// A key absent has a zero span: no JSON value sits at offset 0, where the record's '{' is.
type recordValues struct {
	plain, any [maxKeys]span32
	size       int32 // length of the record these describe; 0 when they were not noted
	deep       bool  // some value may nest deeper than Extract accepts (see scanner.deep)
}

// topSchema is the schema Extract reads each key's object value with, as wanted(sTop) says.
var topSchema = [maxKeys]schema{kInsightDetails: sInsight, kUserIdentity: sIdentity, kAdditionalEventData: sAdditional}

// note records v as the value of top-level key number k, written with escapes or not, as
// Extract's walk notes it (see extractor.note): the first value under the key written plainly,
// and the first under any spelling of it.
func (t *recordValues) note(k int, escaped bool, v span) {
	s := span32{int32(v.from), int32(v.to)}
	if !escaped && t.plain[k].to == 0 {
		t.plain[k] = s
	}
	if t.any[k].to == 0 {
		t.any[k] = s
	}
}

// noteEscaped notes v if key, written with escapes, unescapes to a key Extract wants.
func (t *recordValues) noteEscaped(key []byte, v span) {
	var buf [32]byte
	if k, _ := wanted(sTop, appendUnescaped(buf[:0], key)); k >= 0 {
		t.note(k, true, v)
	}
}

// Extract returns what Extract(r.Raw) returns, reading only the top-level values it needs when
// r comes from Decode. For a record built otherwise, or whose Raw was replaced by one of another
// length, it is Extract(r.Raw).
func (r *Record) Extract() (Event, error) {
	t := &r.values
	if t.size == 0 || int(t.size) != len(r.Raw) || t.deep {
		return Extract(r.Raw) // a record too deep gets Extract's error, with its offset
	}
	x := extractors.Get().(*extractor)
	e, err := x.extractRecord(r.Raw, t)
	x.release()
	return e, err
}

// extractRecord is extract for a decoded record whose top-level values t locates.
func (x *extractor) extractRecord(raw []byte, t *recordValues) (Event, error) {
	x.reset(raw)
	x.nodes = append(x.nodes, node{})
	const top = 1
	for k := range maxKeys {
		a, p := t.any[k], t.plain[k]
		if a.to == 0 {
			continue
		}
		id, err := x.topValue(a, topSchema[k])
		if err != nil {
			return Event{}, err
		}
		x.nodes[top-1].any[k] = id
		if p == a {
			x.nodes[top-1].plain[k] = id
		} else if p.to != 0 {
			if id, err = x.topValue(p, topSchema[k]); err != nil {
				return Event{}, err
			}
			x.nodes[top-1].plain[k] = id
		}
	}
	return x.event(top)
}

// topValue notes the top-level value at sp, as object notes a value, descending into an object
// with schema s, and returns 1 + its index in vals.
func (x *extractor) topValue(sp span32, s schema) (int32, error) {
	b := x.b
	v := val{from: int(sp.from), to: int(sp.to), kind: b[sp.from]}
	switch v.kind {
	case '"':
		// The decoder checked the string and found its end; only whether it has escapes is
		// left to know, and IndexByte tells it several times faster than scanString.
		v.from, v.to = v.from+1, v.to-1
		v.esc = bytes.IndexByte(b[v.from:v.to], '\\') >= 0
	case '{':
		if s != sNone {
			end, n, err := x.value(v.from, 1, s)
			if err != nil || end != v.to {
				return 0, errSpan(v.from, err)
			}
			v.node = n
		}
	}
	x.vals = append(x.vals, v)
	return int32(len(x.vals)), nil
}

// errSpan reports a noted value that does not read as one: a bug in the decoder, which wrote
// the record and noted its values, never bad input.
func errSpan(at int, err error) error {
	if err == nil {
		err = &jsonError{at, "value ends elsewhere than the decoder noted"}
	}
	return fmt.Errorf("parse event: decoded record: %w", err)
}
