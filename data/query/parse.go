package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a malformed query: where (byte offset Pos, 1-based Line and Col in characters) and
// what was expected there.
type Error struct {
	Pos       int
	Line, Col int
	Msg       string
}

// Error prints the position as line:column, then what was expected.
func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// maxDepth bounds nesting of parentheses and NOTs, well below SQLite's expression depth limit.
const maxDepth = 100

// Parse parses query text. An empty or blank query returns nil (it matches every event).
func Parse(s string) (Expr, error) {
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, errAt(s, i, "expected UTF-8 text")
	}
	p := &parser{src: s}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errf(p.pos, "unexpected ')': no '(' to close")
	}
	return e, nil
}

// MustParse is Parse for queries known to be valid (built-in rules, tests); it panics otherwise.
func MustParse(s string) Expr {
	e, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("query %q: %v", s, err))
	}
	return e
}

type parser struct {
	src   string
	pos   int
	depth int
	// field is set inside field:( … ), where every value is a term on it.
	field string
}

func errAt(src string, pos int, msg string) *Error {
	line, col := 1, 1
	for _, r := range src[:min(pos, len(src))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &Error{Pos: pos, Line: line, Col: col, Msg: msg}
}

func (p *parser) errf(pos int, format string, args ...any) *Error {
	return errAt(p.src, pos, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() rune {
	if p.eof() {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return r
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func (p *parser) skipSpace() {
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !isSpace(r) {
			return
		}
		p.pos += n
	}
}

// delimiter reports whether r ends an unquoted word.
func delimiter(r rune) bool { return r == -1 || isSpace(r) || r == '(' || r == ')' || r == '"' }

// peekKeyword reports whether the keyword kw (any case) starts here as a whole word.
func (p *parser) peekKeyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end == len(p.src) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(p.src[end:])
	return delimiter(r)
}

// describe names what is at pos, for error messages.
func (p *parser) describe() string {
	if p.eof() {
		return "end of query"
	}
	for _, kw := range []string{"AND", "OR", "NOT"} {
		if p.peekKeyword(kw) {
			return kw
		}
	}
	return fmt.Sprintf("%q", p.peek())
}

func (p *parser) parseOr() (Expr, error) {
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for {
		p.skipSpace()
		if !p.peekKeyword("OR") {
			break
		}
		at := p.pos
		p.pos += 2
		p.skipSpace()
		if p.eof() || p.peek() == ')' || p.peekKeyword("OR") || p.peekKeyword("AND") {
			return nil, p.errf(p.pos, "expected a term after OR (at %s), found %s", posText(p.src, at), p.describe())
		}
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	return or(xs), nil
}

func (p *parser) parseAnd() (Expr, error) {
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for {
		p.skipSpace()
		if p.eof() || p.peek() == ')' || p.peekKeyword("OR") {
			break
		}
		if p.peekKeyword("AND") {
			at := p.pos
			p.pos += 3
			p.skipSpace()
			if p.eof() || p.peek() == ')' || p.peekKeyword("OR") || p.peekKeyword("AND") {
				return nil, p.errf(p.pos, "expected a term after AND (at %s), found %s", posText(p.src, at), p.describe())
			}
		}
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	return and(xs), nil
}

func (p *parser) parseUnary() (Expr, error) {
	p.skipSpace()
	neg := false
	at := p.pos
	switch {
	case p.peekKeyword("NOT"):
		p.pos += 3
		neg = true
	case p.peek() == '-':
		p.pos++
		neg = true
	}
	if !neg {
		return p.parsePrimary()
	}
	if p.depth++; p.depth > maxDepth {
		return nil, p.errf(at, "query nested too deeply (more than %d levels)", maxDepth)
	}
	defer func() { p.depth-- }()
	p.skipSpace()
	if p.eof() || p.peek() == ')' || p.peekKeyword("AND") || p.peekKeyword("OR") {
		return nil, p.errf(p.pos, "expected a term after %s (at %s), found %s",
			map[bool]string{true: "NOT", false: "'-'"}[p.src[at] != '-'], posText(p.src, at), p.describe())
	}
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &Not{X: x}, nil
}

func posText(src string, pos int) string {
	e := errAt(src, pos, "")
	return fmt.Sprintf("%d:%d", e.Line, e.Col)
}

func (p *parser) parsePrimary() (Expr, error) {
	p.skipSpace()
	switch {
	case p.eof() && p.field != "":
		return nil, p.errf(p.pos, "expected a value for %s, found end of query", p.field)
	case p.eof():
		return nil, p.errf(p.pos, "expected a term, found end of query")
	case p.peek() == ')':
		return nil, p.errf(p.pos, "expected a term, found ')'")
	case p.peekKeyword("AND"), p.peekKeyword("OR"):
		return nil, p.errf(p.pos, "expected a term before %s (quote it to search for the word)", p.describe())
	case p.peek() == '(':
		open := p.pos
		if p.depth++; p.depth > maxDepth {
			return nil, p.errf(open, "query nested too deeply (more than %d levels)", maxDepth)
		}
		defer func() { p.depth-- }()
		p.pos++
		p.skipSpace()
		if p.peek() == ')' {
			if p.field != "" {
				return nil, p.errf(p.pos, "expected a value inside %s:( ) opened at %s", p.field, posText(p.src, open))
			}
			return nil, p.errf(p.pos, "expected a term inside the parentheses opened at %s", posText(p.src, open))
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil, p.errf(p.pos, "expected ')' to close '(' at %s, found %s", posText(p.src, open), p.describe())
		}
		p.pos++
		return x, nil
	case p.peek() == '"':
		at := p.pos
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return p.word(at, Lit(s))
	}
	return p.wordOrTerm()
}

// quoted reads a quoted string at p.pos; inside, \" and \\ stand for " and \ and * is literal.
func (p *parser) quoted() (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errf(p.pos, "expected '\"' to close the quote opened at %s", posText(p.src, open))
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		p.pos += n
		switch r {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", p.errf(p.pos, "expected a character after '\\'")
			}
			r, n = utf8.DecodeRuneInString(p.src[p.pos:])
			p.pos += n
		}
		b.WriteRune(r)
	}
}

// char is one character of an unquoted word and whether a backslash escaped it.
type char struct {
	r   rune
	esc bool
	pos int
}

// rawWord reads an unquoted word: up to whitespace, a parenthesis or a quote; \x is a literal x.
func (p *parser) rawWord() ([]char, error) {
	var cs []char
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if delimiter(r) {
			break
		}
		at := p.pos
		p.pos += n
		esc := false
		if r == '\\' {
			if p.eof() {
				return nil, p.errf(p.pos, "expected a character after '\\'")
			}
			r, n = utf8.DecodeRuneInString(p.src[p.pos:])
			p.pos += n
			esc = true
		}
		cs = append(cs, char{r, esc, at})
	}
	return cs, nil
}

// group parses field:( … ) as Lucene and KQL read it: the values inside, combined with AND,
// OR, NOT and parentheses as anywhere else, are each a term on field, so
// sourceIPAddress:(a OR b) is sourceIPAddress:a OR sourceIPAddress:b. Inside, a ':' belongs to
// the value (an ARN needs no quotes), so no other field can be named there.
func (p *parser) group(field string) (Expr, error) {
	p.field = field
	defer func() { p.field = "" }()
	return p.parsePrimary()
}

func (p *parser) wordOrTerm() (Expr, error) {
	start := p.pos
	cs, err := p.rawWord()
	if err != nil {
		return nil, err
	}
	if p.field != "" {
		return &Term{Field: p.field, Op: OpMatch, Value: pattern(cs)}, nil
	}
	// A term is a field name followed by ':', '<', '<=', '>' or '>='.
	split := -1
	for i, c := range cs {
		if !c.esc && (c.r == ':' || c.r == '<' || c.r == '>') {
			split = i
			break
		}
	}
	if split > 0 && validFieldChars(cs[:split]) {
		return p.term(charsText(cs[:split]), cs[split:])
	}
	return p.word(start, pattern(cs))
}

// term parses the operator and value after a field name; rest starts at the operator.
func (p *parser) term(name string, rest []char) (Expr, error) {
	t := &Term{Field: CanonicalField(name)}
	switch rest[0].r {
	case ':':
		t.Op = OpMatch
	case '<':
		t.Op = OpLT
	case '>':
		t.Op = OpGT
	}
	rest = rest[1:]
	if t.Op != OpMatch && len(rest) > 0 && rest[0].r == '=' && !rest[0].esc {
		t.Op++ // OpLT → OpLE, OpGT → OpGE
		rest = rest[1:]
	}
	valPos := p.pos
	if len(rest) > 0 {
		valPos = rest[0].pos
		t.Value = pattern(rest)
	} else {
		// The value is quoted, or follows after spaces: "field: value".
		p.skipSpace()
		valPos = p.pos
		switch {
		case p.peek() == '(' && t.Op == OpMatch:
			return p.group(t.Field)
		case p.peek() == '"':
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			t.Value = Lit(s)
		case p.eof() || delimiter(p.peek()) || p.peekKeyword("AND") || p.peekKeyword("OR") || p.peekKeyword("NOT"):
			return nil, p.errf(p.pos, "expected a value after '%s%s', found %s", t.Field, t.Op, p.describe())
		default:
			cs, err := p.rawWord()
			if err != nil {
				return nil, err
			}
			t.Value = pattern(cs)
		}
	}
	if t.Op == OpMatch {
		return t, nil
	}
	if t.Value.Wild() {
		return nil, p.errf(valPos, "expected a number or time after '%s%s', found a wildcard", t.Field, t.Op)
	}
	if isTimeField(t.Field) {
		if _, _, ok := parseTimeValue(t.Value.Text()); !ok {
			return nil, p.errf(valPos, "expected a time (RFC 3339 or YYYY-MM-DD) after '%s%s', found %q", t.Field, t.Op, t.Value.Text())
		}
		return t, nil
	}
	if _, ok := parseNumber(t.Value.Text()); !ok {
		return nil, p.errf(valPos, "expected a number after '%s%s', found %q", t.Field, t.Op, t.Value.Text())
	}
	return t, nil
}

// word validates a bare word or phrase: a '*' is only allowed at its end, and it needs a letter
// or digit (the full-text index holds nothing else).
func (p *parser) word(at int, v Value) (Expr, error) {
	if p.field != "" {
		return &Term{Field: p.field, Op: OpMatch, Value: v}, nil // a quoted value in a group
	}
	if v.Any() {
		return &Word{Value: v}, nil
	}
	if v.Wild() {
		for _, part := range v.Parts[1:] {
			if part != "" {
				return nil, p.errf(at, "a '*' is only allowed at the end of a bare word; use field:value for other wildcards")
			}
		}
		if v.Parts[0] == "" {
			return nil, p.errf(at, "expected a word before '*'")
		}
		v = Value{Parts: []string{v.Parts[0], ""}}
	}
	if len(Tokens(v.Parts[0])) == 0 {
		return nil, p.errf(at, "expected a word with a letter or digit, found %q", v.Text())
	}
	return &Word{Value: v}, nil
}

func charsText(cs []char) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteRune(c.r)
	}
	return b.String()
}

// pattern splits a word at its unescaped '*'s, collapsing runs of them.
func pattern(cs []char) Value {
	parts := []string{""}
	var b strings.Builder
	for _, c := range cs {
		if c.r == '*' && !c.esc {
			parts[len(parts)-1] = b.String()
			b.Reset()
			parts = append(parts, "")
			continue
		}
		b.WriteRune(c.r)
	}
	parts[len(parts)-1] = b.String()
	if len(parts) > 2 {
		out := []string{parts[0]}
		for _, s := range parts[1 : len(parts)-1] {
			if s != "" {
				out = append(out, s)
			}
		}
		parts = append(out, parts[len(parts)-1])
	}
	return Value{Parts: parts}
}

// validFieldChars reports whether cs is a dotted path of names: letters, digits, '_', '-', '$',
// '@' and backslash-escaped characters, each segment starting with a letter, '_', '$', '@' or an
// escaped character (so that 10.0.0.1:80 stays a word).
func validFieldChars(cs []char) bool {
	start := true
	for _, c := range cs {
		switch {
		case c.r == '.': // escaped or not: a field path has no other use for a dot
			if start {
				return false
			}
			start = true
			continue
		case c.esc, c.r == '_' || c.r == '$' || c.r == '@' || unicode.IsLetter(c.r):
		case !start && (c.r == '-' || unicode.IsDigit(c.r)):
		default:
			return false
		}
		start = false
	}
	return !start
}

// fieldText prints a field path, escaping the characters a field name cannot hold unescaped.
func fieldText(f string) string {
	var b strings.Builder
	start := true
	for _, r := range f {
		switch {
		case r == '.':
			start = true
			b.WriteRune(r)
			continue
		case r == '_' || r == '$' || r == '@' || unicode.IsLetter(r):
		case !start && (r == '-' || unicode.IsDigit(r)):
		default:
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		start = false
	}
	return b.String()
}

// parseNumber parses a finite decimal number.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	// ParseFloat accepts forms such as "0x1p3", "1_000" and "Inf"; only plain decimals count.
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E') {
			return 0, false
		}
	}
	return f, true
}
