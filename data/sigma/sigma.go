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
	"io"
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

// maxDocs bounds the YAML documents of a file: a correlation and its base rule are two.
const maxDocs = 16

// maxThreshold and maxWindow bound a burst as the app does.
const (
	maxThreshold = store.MaxThreshold
	maxWindow    = store.MaxWindow
)

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
	Name        string    `yaml:"name,omitempty"` // what a correlation refers to the rule by
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

// source is a YAML document of a file as read: a rule, a correlation (Sigma 2) or an action
// document (Sigma 1 collections).
type source struct {
	document    `yaml:",inline"`
	Correlation yaml.Node `yaml:"correlation"`
	Generate    bool      `yaml:"generate"` // the schema's place; pySigma reads it in correlation
	Action      string    `yaml:"action"`
}

// correlation is the correlation block of a Sigma 2 correlation rule, as written.
type correlation struct {
	Type      string         `yaml:"type"`
	Rules     []string       `yaml:"rules"`
	GroupBy   []string       `yaml:"group-by,omitempty"`
	Timespan  string         `yaml:"timespan"`
	Condition countCondition `yaml:"condition"`
}

// countCondition is a correlation's condition as written: the field whose values a value_count
// counts, and the least count.
type countCondition struct {
	Field string `yaml:"field,omitempty"`
	GTE   int    `yaml:"gte"`
}

// correlationBlock is a correlation block as read: names may be one or a list, and the
// condition a map of comparisons.
type correlationBlock struct {
	Type      string    `yaml:"type"`
	Rules     yaml.Node `yaml:"rules"`
	GroupBy   yaml.Node `yaml:"group-by"`
	Timespan  string    `yaml:"timespan"`
	Condition yaml.Node `yaml:"condition"`
	Aliases   yaml.Node `yaml:"aliases"`
	Generate  bool      `yaml:"generate"`
}

// correlationDocument is a Sigma 2 correlation rule as written.
type correlationDocument struct {
	Title       string      `yaml:"title"`
	ID          string      `yaml:"id"`
	Status      string      `yaml:"status"`
	Description string      `yaml:"description,omitempty"`
	Tags        []string    `yaml:"tags,omitempty"`
	Correlation correlation `yaml:"correlation"`
	Level       string      `yaml:"level"`
}

// burst is a count of a rule's matches, or of distinct values of a field among them, over
// time (store.Rule's Threshold, Window, GroupBy and Distinct); zero when the rule takes each
// match.
type burst struct {
	threshold, window int
	groupBy, distinct string
}

// Import reads one Sigma rule for AWS CloudTrail: a rule, a rule counting its matches over a
// timeframe (Sigma 1's count() aggregation), or a Sigma 2 event_count correlation with its base
// rule in the same file; the last two give a burst rule. The rule it returns is enabled, runs
// hourly and carries Label; an error names what in the file cannot be read or has no equivalent.
func Import(src []byte) (store.Rule, error) {
	if len(src) > maxSize {
		return store.Rule{}, fmt.Errorf("sigma: %d bytes; a rule is at most %d", len(src), maxSize)
	}
	docs, err := documents(src)
	if err != nil {
		return store.Rule{}, err
	}
	var rules, corrs []*source
	for _, d := range docs {
		switch {
		case d.Action != "":
			return store.Rule{}, fmt.Errorf("sigma: action %q: rule collections (action documents) have no equivalent; write the rule as one document", d.Action)
		case d.Correlation.Kind != 0:
			corrs = append(corrs, d)
		default:
			rules = append(rules, d)
		}
	}
	switch {
	case len(corrs) > 1:
		return store.Rule{}, fmt.Errorf("sigma: %d correlations in one file; a burst rule is one event_count correlation over one rule", len(corrs))
	case len(corrs) == 1:
		return correlated(corrs[0], rules)
	case len(rules) == 0:
		return store.Rule{}, errors.New("sigma: no rule in the file")
	case len(rules) > 1:
		// Importing the first alone would drop the others without a word.
		return store.Rule{}, fmt.Errorf("sigma: %d rules in one file; import one rule per file (or one correlation with its base rule)", len(rules))
	}
	doc := &rules[0].document
	if strings.TrimSpace(doc.Title) == "" {
		return store.Rule{}, errors.New("sigma: no title")
	}
	r, b, err := rule(doc)
	if err != nil {
		return store.Rule{}, fmt.Errorf("sigma: %w", err)
	}
	r.Threshold, r.Window, r.GroupBy, r.Distinct = b.threshold, b.window, b.groupBy, b.distinct
	return r, nil
}

// documents decodes the YAML documents of a file, empty ones left out.
func documents(src []byte) ([]*source, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*source
	for n := 0; ; n++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sigma: %w", err)
		}
		if n == maxDocs {
			return nil, fmt.Errorf("sigma: more than %d YAML documents; a rule and its correlation are two", maxDocs)
		}
		if len(node.Content) == 1 && node.Content[0].Tag == "!!null" {
			continue // a --- at the end, say
		}
		var d source
		if err := node.Decode(&d); err != nil {
			return nil, fmt.Errorf("sigma: %w", err)
		}
		docs = append(docs, &d)
	}
}

// rule reads a rule's logsource and detection into a query, and its title, description, level
// and tags, with the count its condition may add.
func rule(doc *document) (store.Rule, burst, error) {
	if !strings.EqualFold(doc.Logsource.Product, "aws") || !strings.EqualFold(doc.Logsource.Service, "cloudtrail") {
		return store.Rule{}, burst{}, fmt.Errorf("logsource is product %q, service %q; only aws / cloudtrail rules apply to CloudTrail",
			doc.Logsource.Product, doc.Logsource.Service)
	}
	e, b, err := detection(&doc.Detection)
	if err != nil {
		return store.Rule{}, burst{}, fmt.Errorf("detection: %w", err)
	}
	q := query.Format(e)
	if _, err := query.Parse(q); err != nil {
		// A keyword of punctuation alone, say: the language searches words.
		return store.Rule{}, burst{}, fmt.Errorf("detection: the query it gives, %s, cannot be searched: %w", q, err)
	}
	r := store.Rule{Query: q, Every: 60, Label: Label, Enabled: true}
	describe(&r, doc)
	return r, b, nil
}

// describe sets a rule's name, description, severity, stage and techniques from a document.
func describe(r *store.Rule, doc *document) {
	r.Name, r.Description = strings.TrimSpace(doc.Title), strings.TrimSpace(doc.Description)
	r.Severity, r.Stage, r.Tags = 5, "", nil
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
}

// correlated reads a Sigma 2 event_count correlation over one rule of the same file as one
// burst rule: the rule's query, the correlation's count, and the correlation's title,
// description, level and tags where it has them (the spec puts them there), else the rule's.
func correlated(c *source, rules []*source) (store.Rule, error) {
	if c.Detection.Kind != 0 {
		return store.Rule{}, errors.New("sigma: a document with both a detection and a correlation")
	}
	if c.Correlation.Kind != yaml.MappingNode {
		return store.Rule{}, errors.New("sigma: correlation: not a map")
	}
	var cb correlationBlock
	if err := c.Correlation.Decode(&cb); err != nil {
		return store.Rule{}, fmt.Errorf("sigma: correlation: %w", err)
	}
	if cb.Type != "event_count" && cb.Type != "value_count" {
		return store.Rule{}, fmt.Errorf("sigma: correlation: type %q has no equivalent; a burst rule is an event_count (so many matches within a time) or a value_count (so many distinct values)", cb.Type)
	}
	if cb.Generate || c.Generate {
		// The base rule would alert on each match besides the count: two rules, not one.
		return store.Rule{}, errors.New("sigma: correlation: generate: true asks for the base rule on its own too; import it from a file of its own and drop generate")
	}
	if cb.Aliases.Kind != 0 {
		return store.Rule{}, errors.New("sigma: correlation: aliases (fields named differently by several rules) have no equivalent; group by the field itself")
	}
	refs, err := names(&cb.Rules)
	if err != nil {
		return store.Rule{}, fmt.Errorf("sigma: correlation: rules: %w", err)
	}
	if len(refs) != 1 {
		return store.Rule{}, fmt.Errorf("sigma: correlation: rules: %d rules; a burst rule counts the matches of exactly one", len(refs))
	}
	var b burst
	group, err := names(&cb.GroupBy)
	switch {
	case err != nil:
		return store.Rule{}, fmt.Errorf("sigma: correlation: group-by: %w", err)
	case len(group) > 1:
		return store.Rule{}, fmt.Errorf("sigma: correlation: group-by: %d fields; a rule counts by one field or none", len(group))
	case len(group) == 1:
		if b.groupBy, err = groupField(group[0]); err != nil {
			return store.Rule{}, fmt.Errorf("sigma: correlation: group-by: %w", err)
		}
	}
	if strings.TrimSpace(cb.Timespan) == "" {
		return store.Rule{}, errors.New("sigma: correlation: no timespan")
	}
	if b.window, err = minutes(cb.Timespan); err != nil {
		return store.Rule{}, fmt.Errorf("sigma: correlation: timespan: %w", err)
	}
	if b.threshold, b.distinct, err = readCondition(&cb.Condition, cb.Type == "value_count"); err != nil {
		return store.Rule{}, fmt.Errorf("sigma: correlation: condition: %w", err)
	}
	var base *source
	for _, d := range rules {
		if d.Name == refs[0] || d.ID != "" && d.ID == refs[0] {
			base = d
		}
	}
	if base == nil {
		return store.Rule{}, fmt.Errorf("sigma: correlation: rules: no rule in the file has the name or id %q; the base rule comes in the file with its correlation", refs[0])
	}
	for _, d := range rules {
		if d != base {
			return store.Rule{}, fmt.Errorf("sigma: rule %q is not the correlation's; a file holds one correlation and its base rule", d.Title)
		}
	}
	r, own, err := rule(&base.document)
	if err != nil {
		return store.Rule{}, fmt.Errorf("sigma: base rule %q: %w", refs[0], err)
	}
	if own.threshold > 0 {
		return store.Rule{}, fmt.Errorf("sigma: base rule %q: its condition counts matches (count()) where the correlation counts them", refs[0])
	}
	meta := c.document
	if strings.TrimSpace(meta.Title) == "" {
		meta.Title = base.Title
	}
	if strings.TrimSpace(meta.Description) == "" {
		meta.Description = base.Description
	}
	if meta.Level == "" {
		meta.Level = base.Level
	}
	if len(meta.Tags) == 0 {
		meta.Tags = base.Tags
	}
	if strings.TrimSpace(meta.Title) == "" {
		return store.Rule{}, errors.New("sigma: no title")
	}
	describe(&r, &meta)
	r.Threshold, r.Window, r.GroupBy, r.Distinct = b.threshold, b.window, b.groupBy, b.distinct
	return r, nil
}

// names reads a list of names, or one name alone (as pySigma takes it).
func names(n *yaml.Node) ([]string, error) {
	switch {
	case n.Kind == 0 || n.Tag == "!!null":
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, nil
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, errors.New("a list item that is not a name")
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errors.New("neither a name nor a list of names")
}

// readCondition reads a correlation's condition, a map of one comparison, as the least count
// that fires; a value_count's also names the field whose distinct values it counts.
func readCondition(n *yaml.Node, values bool) (int, string, error) {
	if n.Kind == 0 {
		return 0, "", errors.New("none; a count needs one, as gte: 10")
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return 0, "", errors.New("not a map of a comparison, as gte: 10")
	}
	var ops []*yaml.Node
	field := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i].Value, n.Content[i+1]; k == "field" {
			if !values {
				return 0, "", errors.New("field: only a value_count counts a field's values")
			}
			if v.Kind != yaml.ScalarNode {
				return 0, "", errors.New("field: not a field name")
			}
			field = v.Value
		} else {
			ops = append(ops, n.Content[i], v)
		}
	}
	var distinct string
	if values {
		if field == "" {
			return 0, "", errors.New("a value_count names the field whose values it counts, as field: requestParameters.secretId")
		}
		var err error
		if distinct, err = distinctField(field); err != nil {
			return 0, "", fmt.Errorf("field: %w", err)
		}
	}
	if len(ops) == 0 {
		return 0, "", errors.New("no comparison, as gte: 10")
	}
	if len(ops) > 2 {
		var names []string
		for i := 0; i < len(ops); i += 2 {
			names = append(names, ops[i].Value)
		}
		return 0, "", fmt.Errorf("a range (%s) has no equivalent; a rule counts at least so many (gte or gt alone)", strings.Join(names, ", "))
	}
	op, v := ops[0].Value, ops[1]
	if op != "gte" && op != "gt" {
		return 0, "", fmt.Errorf("%s: only gte and gt (at least so many) have an equivalent", op)
	}
	c, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return 0, "", fmt.Errorf("%s: %q is not a whole number", op, v.Value)
	}
	t, err := threshold(op == "gt", c)
	return t, distinct, err
}

// distinctField checks a field whose distinct values a rule counts and spells it canonically.
func distinctField(f string) (string, error) {
	if _, _, ok := query.ValueOf(f); !ok {
		return "", fmt.Errorf("%q is not a field path (names joined by dots)", f)
	}
	return query.CanonicalField(f), nil
}

// threshold is the least count a comparison with c accepts (c+1 for greater than), checked
// for a burst rule.
func threshold(greater bool, c int) (int, error) {
	if c > maxThreshold {
		return 0, fmt.Errorf("a count of %d; a rule counts at most %d", c, maxThreshold)
	}
	if greater {
		c++
	}
	if c < 2 {
		return 0, fmt.Errorf("a count of at least %d: each match then counts, which is an ordinary rule; write it without the count", c)
	}
	if c > maxThreshold {
		return 0, fmt.Errorf("a count of %d; a rule counts at most %d", c, maxThreshold)
	}
	return c, nil
}

var duration = regexp.MustCompile(`^(\d{1,9})([smhd])$`)

// minutes reads a Sigma duration (30s, 15m, 1h, 1d) as whole minutes, rounding up: a burst
// within 30 seconds is one within a minute too.
func minutes(s string) (int, error) {
	m := duration.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a number and s, m, h or d (as 10m)", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	secs := n * map[string]int64{"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
	if mins := (secs + 59) / 60; mins >= 1 && mins <= maxWindow {
		return int(mins), nil
	}
	return 0, fmt.Errorf("%s is not 1 minute to a day", s)
}

// groupField checks a field to count by and spells it canonically.
func groupField(f string) (string, error) {
	if _, ok := query.GroupColumn(f); !ok {
		return "", fmt.Errorf("%q: a rule counts by one of %s", f, strings.Join(query.GroupFields, ", "))
	}
	return query.CanonicalField(f), nil
}

var aggregate = regexp.MustCompile(`^\s*(\w+)\s*\(([^()]*)\)(.*)$`)

// aggregation reads the Sigma 1 aggregation after a condition's |, as a count: count() [by
// field] > N or >= N.
func aggregation(s string) (burst, error) {
	m := aggregate.FindStringSubmatch(s)
	if m == nil {
		return burst{}, fmt.Errorf("%q is not an aggregation like count() by field > 10", strings.TrimSpace(s))
	}
	fn, arg, rest := m[1], strings.TrimSpace(m[2]), m[3]
	if !strings.EqualFold(fn, "count") {
		return burst{}, fmt.Errorf("%s(): only count() has an equivalent", fn)
	}
	var b burst
	if arg != "" { // count(field): the distinct values of field
		var err error
		if b.distinct, err = distinctField(arg); err != nil {
			return burst{}, fmt.Errorf("count(%s): %w", arg, err)
		}
	}
	i := strings.IndexAny(rest, "<>=!")
	if i < 0 {
		return burst{}, fmt.Errorf("count()%s: no comparison, as > 10", rest)
	}
	if by := strings.Fields(rest[:i]); len(by) > 0 {
		if !strings.EqualFold(by[0], "by") {
			return burst{}, fmt.Errorf("%q after count(): only by field", by[0])
		}
		if len(by) != 2 || strings.Contains(by[1], ",") {
			return burst{}, fmt.Errorf("by %s: a rule counts by one field", strings.Join(by[1:], " "))
		}
		var err error
		if b.groupBy, err = groupField(by[1]); err != nil {
			return burst{}, fmt.Errorf("by %w", err)
		}
	}
	cmp := rest[i:]
	val := strings.TrimLeft(cmp, "<>=!")
	op := cmp[:len(cmp)-len(val)]
	if op != ">" && op != ">=" {
		return burst{}, fmt.Errorf("%s: only > and >= (at least so many matches) have an equivalent", op)
	}
	c, err := strconv.Atoi(strings.TrimSpace(val))
	if err != nil {
		return burst{}, fmt.Errorf("%s %q: not a whole number", op, strings.TrimSpace(val))
	}
	if b.threshold, err = threshold(op == ">", c); err != nil {
		return burst{}, err
	}
	return b, nil
}

// detection turns a detection block (named selections and a condition) into a query, and the
// condition's count() with the timeframe into a burst.
func detection(n *yaml.Node) (query.Expr, burst, error) {
	if n.Kind != yaml.MappingNode {
		return nil, burst{}, errors.New("not a map of selections and a condition")
	}
	sel := map[string]query.Expr{}
	var names []string
	var cond, timeframe *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "condition":
			cond = v
		case "timeframe":
			timeframe = v
		default:
			e, err := selection(v)
			if err != nil {
				return nil, burst{}, fmt.Errorf("%s: %w", k, err)
			}
			sel[k] = e
			names = append(names, k)
		}
	}
	if cond == nil {
		return nil, burst{}, errors.New("no condition")
	}
	var conds []string
	var b burst
	switch cond.Kind {
	case yaml.ScalarNode:
		search, agg, counts := strings.Cut(cond.Value, "|")
		if counts {
			var err error
			if b, err = aggregation(agg); err != nil {
				return nil, burst{}, fmt.Errorf("condition %q: %w", cond.Value, err)
			}
		}
		conds = []string{search}
	case yaml.SequenceNode:
		for _, c := range cond.Content {
			if strings.Contains(c.Value, "|") {
				return nil, burst{}, fmt.Errorf("condition %q: an aggregation in a list of conditions has no equivalent; a rule counts the matches of one condition", c.Value)
			}
			conds = append(conds, c.Value)
		}
	default:
		return nil, burst{}, errors.New("condition: not text")
	}
	switch {
	case timeframe != nil && b.threshold == 0:
		return nil, burst{}, errors.New("timeframe (a correlation over time) has no equivalent in a query")
	case timeframe == nil && b.threshold > 0:
		return nil, burst{}, errors.New("count() without a timeframe; a rule counts matches within one, as timeframe: 10m")
	case timeframe != nil:
		if timeframe.Kind != yaml.ScalarNode {
			return nil, burst{}, errors.New("timeframe: not text")
		}
		var err error
		if b.window, err = minutes(timeframe.Value); err != nil {
			return nil, burst{}, fmt.Errorf("timeframe: %w", err)
		}
	}
	var out []query.Expr
	for _, c := range conds {
		p := &condParser{toks: condTokens(c), sel: sel, names: names}
		e, err := p.or()
		if err == nil && p.pos < len(p.toks) {
			err = fmt.Errorf("unexpected %q", p.toks[p.pos])
		}
		if err != nil {
			return nil, burst{}, fmt.Errorf("condition %q: %w", c, err)
		}
		out = append(out, e)
	}
	return query.Any(out), b, nil
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
	// Bytes, not runes: string(c) of a byte would spell é's two bytes as two characters. A
	// builder, as adding to a string copies it (a megabyte value took minutes).
	var v query.Value
	var part strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`*?\`, s[i+1]) >= 0:
			i++
			part.WriteByte(s[i])
		case c == '*':
			v.Parts = append(v.Parts, part.String())
			part.Reset()
		case c == '?':
			return query.Value{}, fmt.Errorf("%q: the one-character wildcard ? has no equivalent", s)
		default:
			part.WriteByte(c)
		}
	}
	v.Parts = append(v.Parts, part.String())
	return v, nil
}

// condTokens splits a condition into words and parentheses.
func condTokens(s string) []string {
	var out []string
	var cur strings.Builder // not a string added to: that copies it, minutes for a long word
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
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
			cur.WriteRune(r)
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
// (bare words keyword lists), the condition the query's and / or / not shape. A burst rule is
// written as a Sigma 2 correlation: the rule (its detection, with a name to refer to it by),
// then an event_count correlation over it.
func Export(r store.Rule) ([]byte, error) {
	e, err := query.Parse(r.Query)
	if err != nil {
		return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
	}
	if e == nil {
		return nil, fmt.Errorf("sigma: rule %q: an empty query matches everything; Sigma has no such detection", r.Name)
	}
	if refersTo(e, query.RuleField) {
		return nil, fmt.Errorf("sigma: rule %q: %s: searches this case's indicators, which no other tool has", r.Name, query.RuleField)
	}
	if refersTo(e, query.DirectionField) {
		return nil, fmt.Errorf("sigma: rule %q: %s: searches this case's own classification of events, which no other tool has", r.Name, query.DirectionField)
	}
	if r.Bursts() {
		if _, err := threshold(false, r.Threshold); err != nil {
			return nil, fmt.Errorf("sigma: rule %q: threshold: %w", r.Name, err)
		}
		if r.Window < 1 || r.Window > maxWindow {
			return nil, fmt.Errorf("sigma: rule %q: window: %d minutes is not 1 minute to a day", r.Name, r.Window)
		}
		if _, ok := query.GroupColumn(r.GroupBy); r.GroupBy != "" && !ok {
			return nil, fmt.Errorf("sigma: rule %q: group by: %q is not one of %s", r.Name, r.GroupBy, strings.Join(query.GroupFields, ", "))
		}
		if _, _, ok := query.ValueOf(r.Distinct); r.Distinct != "" && !ok {
			return nil, fmt.Errorf("sigma: rule %q: distinct: %q is not a field path", r.Name, r.Distinct)
		}
	}
	det := &yaml.Node{Kind: yaml.MappingNode}
	x := &exporter{det: det}
	cond, err := x.expr(e, false)
	if err != nil {
		return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
	}
	det.Content = append(det.Content, str("condition"), str(cond))
	doc := document{Title: r.Name, Status: "experimental", Description: r.Description, ID: uuid("trailscope rule", r.Name),
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
	docs := []any{&doc}
	if r.Bursts() {
		corr := correlationDocument{Title: doc.Title, ID: uuid("trailscope correlation", r.Name), Status: doc.Status,
			Description: doc.Description, Tags: doc.Tags, Level: doc.Level,
			Correlation: correlation{Type: "event_count", Rules: []string{Slug(r.Name)},
				Timespan: fmt.Sprintf("%dm", r.Window), Condition: countCondition{GTE: r.Threshold}}}
		if r.Distinct != "" {
			corr.Correlation.Type, corr.Correlation.Condition.Field = "value_count", query.CanonicalField(r.Distinct)
		}
		if r.GroupBy != "" {
			corr.Correlation.GroupBy = []string{query.CanonicalField(r.GroupBy)}
		}
		// The specification: the rules of a correlation make no queries of their own (unless
		// generate says so, false by default) and only the outermost correlation carries meta
		// information such as status or level; the base rule keeps title, id, name, logsource
		// and detection.
		doc.Name, doc.Status, doc.Description, doc.Tags, doc.Level = Slug(r.Name), "", "", nil, ""
		docs = append(docs, &corr)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("sigma: rule %q: %w", r.Name, err)
		}
	}
	return b.Bytes(), enc.Close()
}

// refersTo reports whether a query has a term on field.
func refersTo(e query.Expr, field string) bool {
	in := func(x query.Expr) bool { return refersTo(x, field) }
	switch e := e.(type) {
	case *query.And:
		return slices.ContainsFunc(e.X, in)
	case *query.Or:
		return slices.ContainsFunc(e.X, in)
	case *query.Not:
		return refersTo(e.X, field)
	case *query.Term:
		return strings.EqualFold(e.Field, field)
	}
	return false
}

// uuid derives a version-5 style UUID from a rule's name: the same name gives the same id, and
// another prefix another.
func uuid(prefix, name string) string {
	sum := sha1.Sum([]byte(prefix + "\x00" + name))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// Slug is a rule's name as lower-case words joined by underscores, as SigmaHQ names its files:
// the name a correlation refers to the rule by, and its file's name without .yml.
func Slug(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) })
	if len(words) == 0 {
		return "rule"
	}
	return strings.Join(words, "_")
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
