// Package sigma reads and writes detection rules in the Sigma format (sigmahq.io) for AWS
// CloudTrail (logsource product aws, service cloudtrail), so that rules travel between Trailscope
// and other tools: a Sigma rule's detection becomes a query of Trailscope's language, and a
// query becomes a detection, its terms selections and its condition the query's shape.
package sigma

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// Label is the label an imported rule gets.
const Label = "sigma"

// maxSize bounds a rule file: Sigma rules are a few kilobytes.
const maxSize = 1 << 20

// levels map Sigma's levels to severities, and back (the first level at or below a severity).
var levels = []struct {
	name     string
	severity int
}{{"critical", 9}, {"high", 7}, {"medium", 5}, {"low", 3}, {"informational", 2}}

// tactic is a kill-chain stage as ATT&CK's tags name it: Defense Evasion → defense-evasion.
func tactic(stage string) string { return strings.ReplaceAll(strings.ToLower(stage), " ", "-") }

var technique = regexp.MustCompile(`^attack\.(t\d{4}(\.\d{3})?)$`)

type document struct {
	Title       string    `yaml:"title"`
	ID          string    `yaml:"id,omitempty"`
	Status      string    `yaml:"status,omitempty"`
	Description string    `yaml:"description,omitempty"`
	Tags        []string  `yaml:"tags,omitempty"`
	Logsource   logsource `yaml:"logsource"`
	Detection   yaml.Node `yaml:"detection"`
	Level       string    `yaml:"level,omitempty"`
}

type logsource struct {
	Product string `yaml:"product"`
	Service string `yaml:"service"`
}

// Import reads one Sigma rule for AWS CloudTrail. The rule it returns is enabled, runs hourly
// and carries Label; an error names what in the file cannot be read or has no equivalent.
func Import(src []byte) (store.Rule, error) {
	if len(src) > maxSize {
		return store.Rule{}, fmt.Errorf("sigma: %d bytes; a rule is at most %d", len(src), maxSize)
	}
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return store.Rule{}, fmt.Errorf("sigma: %w", err)
	}
	if strings.TrimSpace(doc.Title) == "" {
		return store.Rule{}, errors.New("sigma: no title")
	}
	if !strings.EqualFold(doc.Logsource.Product, "aws") || !strings.EqualFold(doc.Logsource.Service, "cloudtrail") {
		return store.Rule{}, fmt.Errorf("sigma: logsource is product %q, service %q; only aws / cloudtrail rules apply to CloudTrail",
			doc.Logsource.Product, doc.Logsource.Service)
	}
	e, err := detection(&doc.Detection)
	if err != nil {
		return store.Rule{}, fmt.Errorf("sigma: detection: %w", err)
	}
	q := query.Format(e)
	if _, err := query.Parse(q); err != nil {
		// A keyword of punctuation alone, say: the language searches words.
		return store.Rule{}, fmt.Errorf("sigma: detection: the query it gives, %s, cannot be searched: %w", q, err)
	}
	r := store.Rule{Name: strings.TrimSpace(doc.Title), Description: strings.TrimSpace(doc.Description), Query: q,
		Every: 60, Severity: 5, Label: Label, Enabled: true}
	for _, l := range levels {
		if strings.EqualFold(doc.Level, l.name) {
			r.Severity = l.severity
		}
	}
	for _, t := range doc.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if m := technique.FindStringSubmatch(t); m != nil {
			r.Tags = append(r.Tags, strings.ToUpper(m[1]))
			continue
		}
		for _, s := range finding.Stages {
			if r.Stage == "" && t == "attack."+tactic(s) {
				r.Stage = s
			}
		}
	}
	return r, nil
}

// detection turns a detection block (named selections and a condition) into a query.
func detection(n *yaml.Node) (query.Expr, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("not a map of selections and a condition")
	}
	sel := map[string]query.Expr{}
	var names []string
	var cond *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "condition":
			cond = v
		case "timeframe":
			return nil, errors.New("timeframe (a correlation over time) has no equivalent in a query")
		default:
			e, err := selection(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			sel[k] = e
			names = append(names, k)
		}
	}
	if cond == nil {
		return nil, errors.New("no condition")
	}
	var conds []string
	switch cond.Kind {
	case yaml.ScalarNode:
		conds = []string{cond.Value}
	case yaml.SequenceNode:
		for _, c := range cond.Content {
			conds = append(conds, c.Value)
		}
	default:
		return nil, errors.New("condition: not text")
	}
	var out []query.Expr
	for _, c := range conds {
		p := &condParser{toks: condTokens(c), sel: sel, names: names}
		e, err := p.or()
		if err == nil && p.pos < len(p.toks) {
			err = fmt.Errorf("unexpected %q", p.toks[p.pos])
		}
		if err != nil {
			return nil, fmt.Errorf("condition %q: %w", c, err)
		}
		out = append(out, e)
	}
	return query.Any(out), nil
}

// selection is a map of field conditions (all must hold), a list of such maps (any), or a list
// of keywords (any).
func selection(n *yaml.Node) (query.Expr, error) {
	switch n.Kind {
	case yaml.MappingNode:
		var all []query.Expr
		for i := 0; i+1 < len(n.Content); i += 2 {
			e, err := fieldCondition(n.Content[i].Value, n.Content[i+1])
			if err != nil {
				return nil, err
			}
			all = append(all, e)
		}
		if len(all) == 0 {
			return nil, errors.New("an empty selection")
		}
		return query.All(all), nil
	case yaml.SequenceNode:
		var alts []query.Expr
		for _, c := range n.Content {
			var e query.Expr
			var err error
			switch c.Kind {
			case yaml.MappingNode:
				e, err = selection(c)
			case yaml.ScalarNode:
				// A keyword: Trailscope's bare words match whole tokens, Sigma's keywords any
				// substring; a keyword of several words becomes a phrase.
				var v query.Value
				if v, err = sigmaValue(c.Value); err == nil {
					e = &query.Word{Value: v}
				}
			default:
				err = errors.New("a list item that is neither a map nor a keyword")
			}
			if err != nil {
				return nil, err
			}
			alts = append(alts, e)
		}
		if len(alts) == 0 {
			return nil, errors.New("an empty selection")
		}
		return query.Any(alts), nil
	}
	return nil, errors.New("neither a map nor a list")
}

// fieldCondition is field[|modifier…]: value or a list of values (any, or all with |all).
func fieldCondition(key string, v *yaml.Node) (query.Expr, error) {
	parts := strings.Split(key, "|")
	field, mods := parts[0], parts[1:]
	if field == "" {
		return nil, fmt.Errorf("%q: no field name (keywords go in a list)", key)
	}
	var values []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		values = []*yaml.Node{v}
	case yaml.SequenceNode:
		values = v.Content
	default:
		return nil, fmt.Errorf("%s: a value that is neither text nor a list", key)
	}
	all := slices.Contains(mods, "all")
	var xs []query.Expr
	for _, val := range values {
		if val.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: a nested value", key)
		}
		e, err := fieldValue(field, mods, val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		xs = append(xs, e)
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("%s: an empty list of values", key)
	}
	if all {
		return query.All(xs), nil
	}
	return query.Any(xs), nil
}

func fieldValue(field string, mods []string, val *yaml.Node) (query.Expr, error) {
	field = query.CanonicalField(field)
	if val.Tag == "!!null" {
		return &query.Not{X: &query.Term{Field: field, Value: query.Value{Parts: []string{"", ""}}}}, nil
	}
	s := val.Value
	var wildStart, wildEnd bool
	op := query.OpMatch
	for _, m := range mods {
		switch m {
		case "all", "cidr":
			// all joins the values (above); a CIDR is a value the language reads as a range.
		case "contains":
			wildStart, wildEnd = true, true
		case "startswith":
			wildEnd = true
		case "endswith":
			wildStart = true
		case "gt", "gte", "lt", "lte":
			op = map[string]query.Op{"gt": query.OpGT, "gte": query.OpGE, "lt": query.OpLT, "lte": query.OpLE}[m]
		case "exists":
			present := &query.Term{Field: field, Value: query.Value{Parts: []string{"", ""}}}
			switch strings.ToLower(s) {
			case "true", "yes":
				return present, nil
			case "false", "no":
				return &query.Not{X: present}, nil
			}
			return nil, fmt.Errorf("exists: %q is not true or false", s)
		default:
			return nil, fmt.Errorf("the modifier %q has no equivalent in a query", m)
		}
	}
	value, err := sigmaValue(s)
	if err != nil {
		return nil, err
	}
	if op != query.OpMatch {
		if value.Wild() {
			return nil, errors.New("a comparison with a wildcard")
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil && !strings.EqualFold(field, "eventTime") {
			return nil, fmt.Errorf("%q: comparisons are for numbers and eventTime", s)
		}
	}
	if wildStart {
		value.Parts = append([]string{""}, value.Parts...)
	}
	if wildEnd {
		value.Parts = append(value.Parts, "")
	}
	return &query.Term{Field: field, Op: op, Value: value}, nil
}

// sigmaValue reads a Sigma value: * is a wildcard, \* and \\ are literal; ? (one character)
// has no equivalent.
func sigmaValue(s string) (query.Value, error) {
	v := query.Value{Parts: []string{""}}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`*?\`, s[i+1]) >= 0:
			i++
			v.Parts[len(v.Parts)-1] += string(s[i])
		case c == '*':
			v.Parts = append(v.Parts, "")
		case c == '?':
			return query.Value{}, fmt.Errorf("%q: the one-character wildcard ? has no equivalent", s)
		default:
			v.Parts[len(v.Parts)-1] += string(c)
		}
	}
	return v, nil
}

// condTokens splits a condition into words and parentheses.
func condTokens(s string) []string {
	var out []string
	cur := ""
	flush := func() {
		if cur != "" {
			out = append(out, cur)
			cur = ""
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			out = append(out, string(r))
		case unicode.IsSpace(r):
			flush()
		default:
			cur += string(r)
		}
	}
	flush()
	return out
}

// condParser reads a condition: or, and, not, parentheses, selection names, and "1 of" / "all
// of" a name pattern or "them".
type condParser struct {
	toks  []string
	pos   int
	sel   map[string]query.Expr
	names []string
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return strings.ToLower(p.toks[p.pos])
	}
	return ""
}

func (p *condParser) or() (query.Expr, error) {
	var xs []query.Expr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, e)
		if p.peek() != "or" {
			return query.Any(xs), nil
		}
		p.pos++
	}
}

func (p *condParser) and() (query.Expr, error) {
	var xs []query.Expr
	for {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		xs = append(xs, e)
		if p.peek() != "and" {
			return query.All(xs), nil
		}
		p.pos++
	}
}

func (p *condParser) not() (query.Expr, error) {
	if p.peek() == "not" {
		p.pos++
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return &query.Not{X: e}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (query.Expr, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, errors.New("ends too soon")
	case t == "(":
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("a ( without its )")
		}
		p.pos++
		return e, nil
	case t == "1" || t == "any" || t == "all":
		p.pos++
		if p.peek() != "of" {
			return nil, fmt.Errorf("%q not followed by of", t)
		}
		p.pos++
		pat := p.peek()
		if pat == "" {
			return nil, errors.New("of what?")
		}
		pat = p.toks[p.pos]
		p.pos++
		var xs []query.Expr
		for _, n := range p.names {
			if ok, _ := path.Match(pat, n); ok || pat == "them" {
				xs = append(xs, p.sel[n])
			}
		}
		if len(xs) == 0 {
			return nil, fmt.Errorf("no selection matches %q", pat)
		}
		if t == "all" {
			return query.All(xs), nil
		}
		return query.Any(xs), nil
	}
	name := p.toks[p.pos]
	e, ok := p.sel[name]
	if !ok {
		return nil, fmt.Errorf("no selection named %q", name)
	}
	p.pos++
	return e, nil
}

// Export writes a rule as a Sigma rule for AWS CloudTrail: each term of its query a selection
// (bare words keyword lists), the condition the query's and / or / not shape.
func Export(r store.Rule) ([]byte, error) {
	e, err := query.Parse(r.Query)
	if err != nil {
		return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
	}
	if e == nil {
		return nil, fmt.Errorf("sigma: rule %q: an empty query matches everything; Sigma has no such detection", r.Name)
	}
	det := &yaml.Node{Kind: yaml.MappingNode}
	x := &exporter{det: det}
	cond, err := x.expr(e, false)
	if err != nil {
		return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
	}
	det.Content = append(det.Content, str("condition"), str(cond))
	sum := sha1.Sum([]byte("trailscope rule\x00" + r.Name))
	sum[6] = sum[6]&0x0f | 0x50 // a version-5 style UUID: the same name gives the same id
	sum[8] = sum[8]&0x3f | 0x80
	doc := document{Title: r.Name, Status: "experimental", Description: r.Description,
		ID:        fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		Logsource: logsource{Product: "aws", Service: "cloudtrail"}, Detection: *det, Level: "informational"}
	for _, l := range levels {
		if r.Severity >= l.severity {
			doc.Level = l.name
			break
		}
	}
	if r.Stage != "" {
		doc.Tags = append(doc.Tags, "attack."+tactic(r.Stage))
	}
	for _, t := range r.Tags {
		doc.Tags = append(doc.Tags, "attack."+strings.ToLower(t))
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
	}
	return b.Bytes(), enc.Close()
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

type exporter struct {
	det *yaml.Node
	n   int
}

// expr adds e's terms as selections and returns its condition; nested says whether an or must
// be put in parentheses.
func (x *exporter) expr(e query.Expr, nested bool) (string, error) {
	switch e := e.(type) {
	case *query.And:
		return x.join(e.X, " and ")
	case *query.Or:
		// Values of one field, any of them: one selection with a list, as people write Sigma.
		if field, vals, ok := sameField(e.X); ok {
			return x.selection(field, query.OpMatch, vals), nil
		}
		if words, ok := allWords(e.X); ok {
			return x.keywords(words), nil
		}
		s, err := x.join(e.X, " or ")
		if nested {
			s = "(" + s + ")"
		}
		return s, err
	case *query.Not:
		s, err := x.expr(e.X, true)
		if _, group := e.X.(*query.And); group {
			s = "(" + s + ")"
		}
		return "not " + s, err
	case *query.Word:
		return x.keywords([]query.Value{e.Value}), nil
	case *query.Term:
		return x.selection(e.Field, e.Op, []query.Value{e.Value}), nil
	}
	return "", fmt.Errorf("a query part Sigma cannot hold: %T", e)
}

func (x *exporter) join(xs []query.Expr, sep string) (string, error) {
	parts := make([]string, len(xs))
	for i, e := range xs {
		s, err := x.expr(e, true)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return strings.Join(parts, sep), nil
}

// keywords adds a list of keywords, any of which matches, and returns its name.
func (x *exporter) keywords(words []query.Value) string {
	x.n++
	name := fmt.Sprintf("keywords%d", x.n)
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, w := range words {
		list.Content = append(list.Content, str(sigmaText(w)))
	}
	x.det.Content = append(x.det.Content, str(name), list)
	return name
}

// allWords reports whether xs are all bare words, with their values.
func allWords(xs []query.Expr) ([]query.Value, bool) {
	var out []query.Value
	for _, e := range xs {
		w, ok := e.(*query.Word)
		if !ok {
			return nil, false
		}
		out = append(out, w.Value)
	}
	return out, true
}

// sameField reports whether xs are all field:value terms on one field, with their values.
func sameField(xs []query.Expr) (string, []query.Value, bool) {
	var field string
	var vals []query.Value
	for _, e := range xs {
		t, ok := e.(*query.Term)
		if !ok || t.Op != query.OpMatch || t.Value.Any() || field != "" && t.Field != field {
			return "", nil, false
		}
		field = t.Field
		vals = append(vals, t.Value)
	}
	return field, vals, len(vals) > 1
}

// selection adds a selection of one field with one value, or any of several, and returns its
// name. Values that are all *x*, x* or *x are written with |contains, |startswith or |endswith,
// address ranges with |cidr, numbers as numbers.
func (x *exporter) selection(field string, op query.Op, vals []query.Value) string {
	x.n++
	name := fmt.Sprintf("selection%d", x.n)
	key := field
	var nodes []*yaml.Node
	switch {
	case op != query.OpMatch:
		key += "|" + map[query.Op]string{query.OpGT: "gt", query.OpGE: "gte", query.OpLT: "lt", query.OpLE: "lte"}[op]
	case len(vals) == 1 && vals[0].Any():
		key += "|exists"
		nodes = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}}
	default:
		if mod, inner, ok := affixes(vals); ok {
			key += "|" + mod
			vals = inner
		} else if allPrefixes(vals) {
			key += "|cidr" // other tools match a range only when told
		}
	}
	if nodes == nil {
		for _, v := range vals {
			n := str(sigmaText(v))
			if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil && !v.Wild() {
				n.Tag = "!!int" // a number, as Sigma's comparisons want
			}
			nodes = append(nodes, n)
		}
	}
	val := nodes[0]
	if len(nodes) > 1 {
		val = &yaml.Node{Kind: yaml.SequenceNode, Content: nodes}
	}
	x.det.Content = append(x.det.Content, str(name), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str(key), val}})
	return name
}

// affixes finds the modifier that says every value is *x* (contains), x* (startswith) or *x
// (endswith), and the values without their wildcards.
func affixes(vals []query.Value) (string, []query.Value, bool) {
	for _, m := range []struct {
		mod        string
		start, end bool
	}{{"contains", true, true}, {"startswith", false, true}, {"endswith", true, false}} {
		var inner []query.Value
		for _, v := range vals {
			p := v.Parts
			if m.start {
				if len(p) < 2 || p[0] != "" {
					break
				}
				p = p[1:]
			}
			if m.end {
				if len(p) < 2 || p[len(p)-1] != "" {
					break
				}
				p = p[:len(p)-1]
			}
			if len(p) == 0 || len(p) == 1 && p[0] == "" {
				break // the value was only wildcards
			}
			inner = append(inner, query.Value{Parts: p})
		}
		if len(inner) == len(vals) {
			return m.mod, inner, true
		}
	}
	return "", nil, false
}

func allPrefixes(vals []query.Value) bool {
	for _, v := range vals {
		if v.Wild() {
			return false
		}
		if _, err := netip.ParsePrefix(v.Text()); err != nil {
			return false
		}
	}
	return true
}

// sigmaText writes a value in Sigma's form: wildcards as *, a literal * ? or \ escaped.
func sigmaText(v query.Value) string {
	esc := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	parts := make([]string, len(v.Parts))
	for i, p := range v.Parts {
		parts[i] = esc.Replace(p)
	}
	return strings.Join(parts, "*")
}
