package cloudtrail

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// CloudTrail Lake query results (and Athena results over CloudTrail) come as CSV: a header
// row of field names, then one event per row with nested fields as JSON text. Each row is
// rebuilt into a JSON object so that it can be stored and searched like any other event.

// lakeFields maps the lower-case name of each top-level CloudTrail field to its spelling in
// events, so that a header written in lower case (Athena) still yields the usual keys.
var lakeFields = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{
		"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
		"responseElements", "additionalEventData", "requestID", "eventID", "readOnly",
		"resources", "eventType", "apiVersion", "managementEvent", "recipientAccountId",
		"serviceEventDetails", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId",
		"eventCategory", "addendum", "sessionCredentialFromConsole", "edgeDeviceDetails",
		"tlsDetails", "insightDetails",
	} {
		m[strings.ToLower(f)] = f
	}
	return m
}()

// lakeNested are the fields whose cells hold JSON text to be embedded as values.
var lakeNested = map[string]bool{
	"userIdentity": true, "requestParameters": true, "responseElements": true,
	"additionalEventData": true, "resources": true, "serviceEventDetails": true,
	"addendum": true, "edgeDeviceDetails": true, "tlsDetails": true, "insightDetails": true,
}

// lakeBool are the fields CloudTrail writes as JSON booleans.
var lakeBool = map[string]bool{"readOnly": true, "managementEvent": true}

type lakeColumn struct {
	key    []byte // the quoted JSON key followed by ':'
	nested bool
	bool   bool
}

// lakeHeader reports whether the first line is a CSV header naming CloudTrail fields
// (eventTime and eventName or eventSource), or Splunk's _raw column; it consumes nothing.
func (d *decoder) lakeHeader() ([]string, bool) {
	line := d.peekLine()
	fields, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil || len(fields) < 2 {
		return nil, false
	}
	has := map[string]bool{}
	for _, f := range fields {
		has[strings.ToLower(strings.TrimSpace(f))] = true
	}
	if !has["_raw"] && (!has["eventtime"] || !has["eventname"] && !has["eventsource"]) {
		return nil, false
	}
	return fields, true
}

// peekLine returns the input from pos up to and including the first newline (or as much as
// the buffer holds), without consuming it.
func (d *decoder) peekLine() []byte {
	for {
		if i := bytes.IndexByte(d.buf[d.pos:d.end], '\n'); i >= 0 {
			return d.buf[d.pos : d.pos+i+1]
		}
		if d.end-d.pos == len(d.buf) || !d.fill() {
			return d.buf[d.pos:d.end]
		}
	}
}

// lake decodes CloudTrail Lake CSV from pos, which is at the header row; a Splunk CSV
// export, whose _raw column holds each event as CloudTrail wrote it, is read from that column
// alone (the columns Splunk extracted beside it are partial).
func (d *decoder) lake(header []string) error {
	raw := slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == "_raw" })
	d.container = FormatLakeCSV
	if raw >= 0 {
		d.container = FormatSplunk
	}
	start, startLine := d.offset(), d.line
	cr := csv.NewReader(scanReader{d.scanner})
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil { // the header, already parsed by lakeHeader
		return d.csvError(cr, start, startLine, err)
	}
	cols := make([]lakeColumn, len(header))
	for i, h := range header {
		name := strings.TrimSpace(h)
		if canon, ok := lakeFields[strings.ToLower(name)]; ok {
			name = canon
		}
		cols[i] = lakeColumn{
			key:    append(appendJSONString(nil, name), ':'),
			nested: lakeNested[name],
			bool:   lakeBool[name],
		}
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return d.finish()
		}
		if err != nil {
			return d.csvError(cr, start, startLine, err)
		}
		if raw >= 0 {
			if err := d.splunkRow(row, raw); err != nil {
				return err
			}
			continue
		}
		d.elem = d.lakeRow(d.elem[:0], cols, row)
		var info objInfo
		if d.inner, err = newBytesScanner(d.elem).appendObject(d.inner[:0], 1, &info); err != nil {
			return fmt.Errorf("rebuild CSV row: %w", err) // a bug: lakeRow writes valid JSON
		}
		if err := d.handle(d.inner, &info, FormatLakeCSV); err != nil {
			return err
		}
	}
}

// splunkRow decodes the event in the _raw cell of a Splunk CSV row; a cell that is not one
// JSON object (another source's log line) is skipped.
func (d *decoder) splunkRow(row []string, raw int) error {
	var info objInfo
	if raw < len(row) && d.objectIn([]byte(row[raw]), &info) {
		return d.handle(d.inner, &info, FormatSplunk)
	}
	if d.stats.Skipped++; d.stats.Skipped == 1 {
		d.stats.FirstSkipped = "Splunk CSV row whose _raw is not a JSON object"
	}
	return nil
}

func (d *decoder) csvError(cr *csv.Reader, start int64, startLine int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &SyntaxError{
			Offset: start + cr.InputOffset(),
			Line:   startLine + pe.Line - 1,
			Msg:    fmt.Sprintf("CloudTrail Lake CSV, column %d: %v", pe.Column, pe.Err),
		}
	}
	return fmt.Errorf("read at offset %d: %w", start+cr.InputOffset(), err)
}

// lakeRow rebuilds one CSV row as a JSON object; empty cells are left out.
func (d *decoder) lakeRow(dst []byte, cols []lakeColumn, row []string) []byte {
	dst = append(dst, '{')
	first := true
	for i, cell := range row {
		if cell == "" || i >= len(cols) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		c := cols[i]
		dst = append(dst, c.key...)
		switch {
		case c.bool && strings.EqualFold(cell, "true"):
			dst = append(dst, "true"...)
		case c.bool && strings.EqualFold(cell, "false"):
			dst = append(dst, "false"...)
		case c.nested || cell[0] == '{':
			// Lake prints nested values as JSON; anything else there (a struct printed as
			// {a=b, …}) is kept as a string rather than lost.
			if v, ok := compactWhole(dst, cell); ok {
				dst = v
			} else {
				dst = appendJSONString(dst, cell)
			}
		default:
			dst = appendJSONString(dst, cell)
		}
	}
	return append(dst, '}')
}

// compactWhole appends text as compact JSON if it is exactly one JSON value.
func compactWhole(dst []byte, text string) ([]byte, bool) {
	s := newBytesScanner([]byte(text))
	n := len(dst)
	out, err := s.appendValue(dst, 0)
	if err != nil {
		return dst[:n], false
	}
	if _, more := s.skipWS(); more {
		return dst[:n], false
	}
	return out, true
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// scanReader lets encoding/csv read through the scanner's buffer, then the stream itself.
type scanReader struct{ s *scanner }

func (r scanReader) Read(p []byte) (int, error) {
	s := r.s
	if s.pos < s.end {
		n := copy(p, s.buf[s.pos:s.end])
		s.pos += n
		return n, nil
	}
	if s.rerr != nil {
		return 0, s.rerr
	}
	return s.r.Read(p)
}
