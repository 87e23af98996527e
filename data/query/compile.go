package query

import (
	"database/sql/driver"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"modernc.org/sqlite"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// Compile turns a parsed query into a SQL boolean expression and its arguments. The expression
// refers to the events table as e and to event_json as j (joined on j.id = e.id); it mentions
// j only when a term needs the raw JSON, and then through TermFunc. User text only ever travels
// in args. A nil query compiles to "1" (everything).
//
// Matching, in brief: bare words go through the full-text index (events_fts); fields held by
// an extracted column compare that column with COLLATE NOCASE or LIKE (ASCII case folding); other
// fields are read from the raw JSON by TermFunc, matching keys case-insensitively and any element
// of arrays on the way; eventTime compares the time column.
func Compile(e Expr) (where string, args []any, err error) {
	c := &compiler{}
	if e == nil {
		return "1", nil, nil
	}
	s, err := c.expr(e)
	if err != nil {
		return "", nil, err
	}
	return s, c.args, nil
}

// CIDRFunc is the SQL function Compile uses to test an address against a CIDR:
// trailscope_in_cidr(text, prefix) is 1 when text is an IP address inside prefix.
const CIDRFunc = "trailscope_in_cidr"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(CIDRFunc, 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok1 := args[0].(string)
		p, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return int64(0), nil
		}
		return boolInt(inCIDR(s, p)), nil
	})
}

// inCIDR reports whether s is an IP address inside the CIDR prefix p.
func inCIDR(s, p string) bool {
	pre, err := netip.ParsePrefix(p)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && pre.Contains(a)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type compiler struct {
	args []any
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// ftsIn is the full-text condition; the store recognises this exact text (store.FTSIn) when it
// leads a query, to choose how to run a first page.
const ftsIn = "e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"

func (c *compiler) expr(e Expr) (string, error) {
	switch x := e.(type) {
	case *And:
		return c.and(x)
	case *Or:
		if q, ok := ftsOr(x); ok {
			c.args = append(c.args, q)
			return ftsIn, nil
		}
		if s, ok := c.codedOr(x); ok {
			return s, nil
		}
		parts := make([]string, len(x.X))
		for i, y := range x.X {
			s, err := c.expr(y)
			if err != nil {
				return "", err
			}
			parts[i] = "(" + s + ")"
		}
		return strings.Join(parts, " OR "), nil
	case *Not:
		s, err := c.expr(x.X)
		if err != nil {
			return "", err
		}
		// A condition on a value the case lacks can be NULL, not false: the id of a value no
		// dictionary holds, or an event without a user agent. NOT NULL is NULL and drops the
		// row; a NULL condition is one the event does not meet, so its negation holds.
		return "NOT coalesce((" + s + "), 0)", nil
	case *Word:
		if x.Value.Any() {
			return "1", nil
		}
		c.args = append(c.args, phrase(x.Value))
		return ftsIn, nil
	case *Term:
		return c.term(x)
	}
	return "", fmt.Errorf("compile query: unknown node %T", e)
}

// and compiles a conjunction: bare words (and negated bare words) share one full-text MATCH,
// and cheap conditions come before the ones that read the JSON.
func (c *compiler) and(a *And) (string, error) {
	var pos, neg []string
	var rest []Expr
	for _, x := range a.X {
		switch y := x.(type) {
		case *Word:
			if !y.Value.Any() {
				pos = append(pos, phrase(y.Value))
				continue
			}
		case *Not:
			if w, ok := y.X.(*Word); ok && !w.Value.Any() {
				neg = append(neg, phrase(w.Value))
				continue
			}
		case *Or:
			if q, ok := ftsOr(y); ok {
				pos = append(pos, q)
				continue
			}
		}
		rest = append(rest, x)
	}
	var parts []string
	switch {
	case len(pos) > 0:
		q := strings.Join(pos, " AND ")
		for _, n := range neg {
			q = "(" + q + ") NOT " + n
		}
		c.args = append(c.args, q)
		parts = append(parts, ftsIn)
	case len(neg) > 0:
		for _, n := range neg {
			c.args = append(c.args, n)
			parts = append(parts, "NOT ("+ftsIn+")")
		}
	}
	type comp struct {
		sql  string
		cost int
		args []any
	}
	var comps []comp
	for _, x := range rest {
		save := c.args
		c.args = nil
		s, err := c.expr(x)
		if err != nil {
			return "", err
		}
		comps = append(comps, comp{s, cost(s), c.args})
		c.args = save
	}
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].cost < comps[j].cost })
	for _, k := range comps {
		parts = append(parts, k.sql)
		c.args = append(c.args, k.args...)
	}
	for i := range parts {
		parts[i] = "(" + parts[i] + ")"
	}
	return strings.Join(parts, " AND "), nil
}

// cost ranks compiled conditions so that SQLite tests the cheap ones first.
func cost(s string) int {
	switch {
	case strings.Contains(s, TermFunc):
		return 2
	case strings.Contains(s, "events_fts"):
		return 1
	}
	return 0
}

// ftsOr expresses an OR of bare words as one full-text query.
func ftsOr(o *Or) (string, bool) {
	qs := make([]string, len(o.X))
	for i, x := range o.X {
		w, ok := x.(*Word)
		if !ok || w.Value.Any() {
			return "", false
		}
		qs[i] = phrase(w.Value)
	}
	return "(" + strings.Join(qs, " OR ") + ")", true
}

// phrase is the FTS5 phrase for a bare word: its tokens in order, quoted, with a trailing *
// when the word ends in a wildcard right after a letter or digit (a prefix search).
func phrase(v Value) string {
	toks := Tokens(v.Parts[0])
	q := ftsString(strings.Join(toks, " "))
	if v.Wild() && prefixEnd(v.Parts[0]) {
		q += " *"
	}
	return q
}

// prefixEnd reports whether s ends with a token character, so that a '*' after it extends the
// last token rather than standing after a separator.
func prefixEnd(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && tokenChar(r)
}

// ftsString quotes s as an FTS5 string: inside double quotes, a double quote is doubled.
func ftsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (c *compiler) term(t *Term) (string, error) {
	if isRuleField(t.Field) {
		return c.ruleTerm(t)
	}
	if isTimeField(t.Field) {
		if s, ok := c.timeTerm(t); ok {
			return s, nil
		}
	}
	if col, ok := columns[t.Field]; ok && t.Op == OpMatch {
		if s, ok := c.columnTerm(t, col); ok {
			return s, nil
		}
	}
	pre := ""
	if q := prefilter(t); q != "" {
		c.args = append(c.args, q)
		pre = ftsIn + " AND "
	}
	return pre + c.jsonTerm(t), nil
}

// ruleTerm matches the events a rule made indicators of: rule:NAME (case-insensitive,
// wildcards allowed), or rule:* for any rule's.
func (c *compiler) ruleTerm(t *Term) (string, error) {
	v := t.Value
	if t.Op != OpMatch {
		return "", fmt.Errorf("%s: a rule is named, as rule:NAME", t)
	}
	sub := "SELECT i.event_id FROM indicators i"
	switch {
	case v.Any():
	case v.Wild():
		sub += " JOIN rules r ON r.id = i.rule_id WHERE r.name LIKE " + c.arg(likePattern(v)) + ` ESCAPE '\'`
	default:
		sub += " JOIN rules r ON r.id = i.rule_id WHERE r.name = " + c.arg(v.Text()) + " COLLATE NOCASE"
	}
	return "e.id IN (" + sub + ")", nil
}

// timeTerm compares the time column; ok is false when the value is no time (string matching).
func (c *compiler) timeTerm(t *Term) (string, bool) {
	if t.Value.Wild() {
		return "", false
	}
	from, to, ok := parseTimeValue(t.Value.Text())
	if !ok {
		return "", false
	}
	switch t.Op {
	case OpLT:
		return "e.time < " + c.arg(from), true
	case OpLE:
		return "e.time < " + c.arg(to), true
	case OpGT:
		return "e.time >= " + c.arg(to), true
	case OpGE:
		return "e.time >= " + c.arg(from), true
	}
	return "e.time >= " + c.arg(from) + " AND e.time < " + c.arg(to), true
}

// columnTerm matches an extracted column; ok is false when only the JSON can answer.
//
// Values compare case-insensitively, ASCII letters only, as LIKE does: other columns with
// COLLATE NOCASE; a column with a dictionary (see column) through the ids of the matching
// values, found in the dictionary, where they are folded to lower case as lower() folds.
func (c *compiler) columnTerm(t *Term, col column) (string, bool) {
	name := "e." + col.name
	v := t.Value
	var s string
	switch {
	case v.Any():
		if !col.exact {
			return "", false
		}
		if col.coded {
			return col.sql() + " IS NOT NULL", true
		}
		return name + " <> ''", true
	case v.Text() == "" && !v.Wild():
		return "", false // '' in a column also means absent
	case col.dict != "":
		s = c.dictTerm(v, col)
	case v.Wild():
		s = name + ` LIKE ` + c.arg(likePattern(v)) + ` ESCAPE '\'`
		if v.Text() != "" {
			// Most events have no error code, say: skipping the empty ones first spares the
			// pattern on each (errorCode:*Denied* over 1M events: 1.7 s, then 1.1 s).
			s = name + " <> '' AND " + s
		}
	default:
		if p, err := netip.ParsePrefix(v.Text()); err == nil {
			s = "(" + name + " = " + c.arg(v.Text()) + " COLLATE NOCASE OR " + c.cidr(name, p) + ")"
		} else {
			if col.keyed { // the index on keys finds the event; the text then confirms it
				s = "e.event_key = " + c.arg(cloudtrail.EventKey(v.Text())) + " AND "
			}
			s += name + " = " + c.arg(v.Text()) + " COLLATE NOCASE"
		}
	}
	if col.exact {
		return s, true
	}
	// The column is a necessary condition only: check the JSON too.
	return s + " AND " + c.jsonTerm(t), true
}

// dictTerm matches a column with a dictionary. An equality is one id, which the column's index
// serves in time order; a wildcard or a CIDR is the set of ids whose values match, tested on
// each distinct value once (the store decides whether the index collects the events: see
// Store.indexPlan, which recognises the "IN (SELECT id FROM" form). A coded column's
// dictionary holds values as written, so its equality is a set of ids too (the spellings that
// differ in case only).
func (c *compiler) dictTerm(v Value, col column) string {
	ids := "e." + col.name + "_id"
	if col.coded {
		return ids + " IN (SELECT id FROM " + col.dict + " WHERE " + c.codedValue(v) + ")"
	}
	if v.Wild() {
		var rng string
		if lo, hi, ok := prefixRange(v.Parts[0]); ok {
			// The dictionary's index finds a prefix's values (a bound LIKE pattern gets no index).
			rng = "value >= " + c.arg(lo) + " AND value < " + c.arg(hi) + " AND "
		}
		return ids + " IN (SELECT id FROM " + col.dict + " WHERE " + rng + "value LIKE " + c.arg(likePattern(v)) + ` ESCAPE '\')`
	}
	if p, err := netip.ParsePrefix(v.Text()); err == nil {
		return ids + " IN (SELECT id FROM " + col.dict + " WHERE value = lower(" + c.arg(v.Text()) + ") OR " + c.cidr("value", p) + ")"
	}
	return ids + " = (SELECT id FROM " + col.dict + " WHERE value = lower(" + c.arg(v.Text()) + "))"
}

// codedValue is the condition on a coded column's dictionary that v matches.
func (c *compiler) codedValue(v Value) string {
	if v.Wild() {
		return "value LIKE " + c.arg(likePattern(v)) + ` ESCAPE '\'`
	}
	if p, err := netip.ParsePrefix(v.Text()); err == nil {
		return "value = " + c.arg(v.Text()) + " COLLATE NOCASE OR " + c.cidr("value", p)
	}
	return "value = " + c.arg(v.Text()) + " COLLATE NOCASE"
}

// codedOr compiles an OR of matches on one coded column as one set of ids, which the store may
// collect rather than test event by event (Store.indexPlan), as the offensive-tools rule's
// userAgent:*kali* OR userAgent:*pacu*… (ok is false for any other OR).
func (c *compiler) codedOr(o *Or) (string, bool) {
	var col column
	for i, x := range o.X {
		t, ok := x.(*Term)
		if !ok || t.Op != OpMatch {
			return "", false
		}
		tc, ok := columns[t.Field]
		if !ok || !tc.coded || t.Value.Any() || t.Value.Text() == "" && !t.Value.Wild() || i > 0 && tc != col {
			return "", false
		}
		col = tc
	}
	conds := make([]string, len(o.X))
	for i, x := range o.X {
		conds[i] = "(" + c.codedValue(x.(*Term).Value) + ")"
	}
	return "e." + col.name + "_id IN (SELECT id FROM " + col.dict + " WHERE " + strings.Join(conds, " OR ") + ")", true
}

// cidr tests the column col against an IPv4 or IPv6 prefix. An IPv4 prefix is narrowed to text
// ranges of the column first, e.g. 10.1.0.0/16 → col >= '10.1.' AND col < '10.1/', one disjunct
// per range with the exact test in each, so that an index on the column (a dictionary's values)
// finds the candidates. The ranges compare with NOCASE, which on digits and dots orders as
// lower() does.
func (c *compiler) cidr(col string, p netip.Prefix) string {
	exact := func() string { return CIDRFunc + "(" + col + ", " + c.arg(p.String()) + ")" }
	p = p.Masked()
	if !p.Addr().Is4() {
		return exact()
	}
	a := p.Addr().As4()
	bits := p.Bits()
	k, r := bits/8, bits%8
	var prefixes []string
	base := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(strconv.Itoa(int(a[i])) + ".")
		}
		return b.String()
	}
	switch {
	case k >= 3:
		prefixes = []string{base(3)} // the last octet is left to the exact test
	case r == 0 || 1<<(8-r) > 16:
		if k == 0 {
			return exact()
		}
		prefixes = []string{base(k)}
	default:
		for x := 0; x < 1<<(8-r); x++ {
			prefixes = append(prefixes, base(k)+strconv.Itoa(int(a[k])+x)+".")
		}
	}
	ors := make([]string, len(prefixes))
	for i, pre := range prefixes {
		hi := pre[:len(pre)-1] + "/" // '/' follows '.'
		ors[i] = "(" + col + " >= " + c.arg(pre) + " COLLATE NOCASE AND " + col + " < " + c.arg(hi) + " COLLATE NOCASE AND " + exact() + ")"
	}
	return strings.Join(ors, " OR ")
}

// prefixRange is the range [lo, hi) of lower()ed texts that holds every text beginning with
// prefix, ASCII letters in any case (the folding of LIKE and lower() alike): lo is the prefix in
// lower case and hi the same with its last byte incremented.
func prefixRange(prefix string) (lo, hi string, ok bool) {
	if prefix == "" {
		return "", "", false
	}
	b := []byte(prefix)
	for i, x := range b {
		if 'A' <= x && x <= 'Z' {
			b[i] = x + 'a' - 'A'
		}
	}
	lo = string(b)
	if b[len(b)-1] == 0xff {
		return "", "", false
	}
	b[len(b)-1]++
	return lo, string(b), true
}

// likePattern turns a wildcard value into a LIKE pattern with '\' as the escape.
func likePattern(v Value) string {
	var b strings.Builder
	for i, p := range v.Parts {
		if i > 0 {
			b.WriteByte('%')
		}
		for _, r := range p {
			if r == '%' || r == '_' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// prefilter is a full-text query every record matching t must also match (the value's whole
// tokens), or "" when there is none; it spares reading the JSON of most records.
func prefilter(t *Term) string {
	v := t.Value
	if t.Op != OpMatch || v.Any() {
		return ""
	}
	if !v.Wild() {
		s := v.Text()
		if _, ok := parseNumber(s); ok {
			return "" // 1e2 matches 100
		}
		if _, err := netip.ParsePrefix(s); err == nil {
			return ""
		}
		toks := Tokens(s)
		if len(toks) == 0 {
			return ""
		}
		return ftsString(strings.Join(toks, " "))
	}
	var qs []string
	last := len(v.Parts) - 1
	for i, part := range v.Parts {
		rs := []rune(part)
		for j := 0; j < len(rs); {
			if !tokenChar(rs[j]) {
				j++
				continue
			}
			k := j
			for k < len(rs) && tokenChar(rs[k]) {
				k++
			}
			left := j > 0 || i == 0
			right := k < len(rs) || i == last
			tok := strings.ToLower(string(rs[j:k]))
			switch {
			case left && right:
				qs = append(qs, ftsString(tok))
			case left:
				qs = append(qs, ftsString(tok)+" *")
			}
			j = k
		}
	}
	return strings.Join(qs, " AND ")
}

// jsonTerm matches the field's values in the raw JSON, through TermFunc.
func (c *compiler) jsonTerm(t *Term) string {
	return TermFunc + "(j.json, " + c.arg(t.String()) + ")"
}
