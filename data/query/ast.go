// Package query is Trailscope's search language: a Kibana-like query (bare words, field:value,
// wildcards, CIDRs, comparisons, AND / OR / NOT) parsed into a tree, printed back to canonical
// text, and compiled to parameterized SQL over the case file.
package query

import (
	"strings"
)

// Expr is a node of a parsed query.
type Expr interface {
	// String prints the node as canonical query text; parsing it gives the same tree.
	String() string
	isExpr()
}

// And matches when every operand matches (written with AND or by juxtaposition).
type And struct{ X []Expr }

// Or matches when any operand matches.
type Or struct{ X []Expr }

// Not matches when its operand does not (written NOT x or -x).
type Not struct{ X Expr }

// Word is a bare word or quoted phrase: it matches whole tokens anywhere in a record's values.
type Word struct{ Value Value }

// Op is the operator between a field and its value.
type Op uint8

// Operators of a field term.
const (
	OpMatch Op = iota // field:value
	OpLT              // field<value
	OpLE              // field<=value
	OpGT              // field>value
	OpGE              // field>=value
)

// String is the operator as written in a query.
func (o Op) String() string {
	switch o {
	case OpLT:
		return "<"
	case OpLE:
		return "<="
	case OpGT:
		return ">"
	case OpGE:
		return ">="
	}
	return ":"
}

// Term compares the value(s) at a field's JSON path with a value.
type Term struct {
	Field string // dotted JSON path, known CloudTrail names in their canonical spelling
	Op    Op
	Value Value
}

// Value is literal text with optional '*' wildcards: Parts holds the literal pieces between
// wildcards, so a value without wildcards has one part and "*" alone has two empty parts.
type Value struct{ Parts []string }

// Lit returns a value without wildcards.
func Lit(s string) Value { return Value{Parts: []string{s}} }

// Wild reports whether the value has a wildcard.
func (v Value) Wild() bool { return len(v.Parts) > 1 }

// Any reports whether the value is only wildcards ("*"), which means presence.
func (v Value) Any() bool {
	if !v.Wild() {
		return false
	}
	for _, p := range v.Parts {
		if p != "" {
			return false
		}
	}
	return true
}

// Text is the literal text of a value without wildcards.
func (v Value) Text() string { return strings.Join(v.Parts, "") }

func (*And) isExpr()  {}
func (*Or) isExpr()   {}
func (*Not) isExpr()  {}
func (*Word) isExpr() {}
func (*Term) isExpr() {}

// String prints operands separated by spaces (implicit AND), grouping ORs.
func (a *And) String() string {
	var b strings.Builder
	for i, x := range a.X {
		if i > 0 {
			b.WriteByte(' ')
		}
		if _, ok := x.(*Or); ok {
			b.WriteString("(" + x.String() + ")")
		} else {
			b.WriteString(x.String())
		}
	}
	return b.String()
}

// String prints operands separated by OR.
func (o *Or) String() string {
	parts := make([]string, len(o.X))
	for i, x := range o.X {
		parts[i] = x.String()
	}
	return strings.Join(parts, " OR ")
}

// String prints -x for a single term and NOT (…) for a group.
func (n *Not) String() string {
	switch n.X.(type) {
	case *And, *Or:
		return "NOT (" + n.X.String() + ")"
	}
	return "-" + n.X.String()
}

// String prints the word, quoted or escaped when it would otherwise read differently.
func (w *Word) String() string { return formatValue(w.Value, true) }

// String prints field, operator and value, e.g. eventName:ListBuckets.
func (t *Term) String() string {
	return fieldText(t.Field) + t.Op.String() + formatValue(t.Value, false)
}

// FieldValue is the query text that selects records whose field has this exact value, as
// added when the analyst clicks a field of an event: field:value, quoted when needed.
func FieldValue(field, value string) string {
	return (&Term{Field: CanonicalField(field), Value: Lit(value)}).String()
}

// AndTerm returns the query q with the term text added (AND), as canonical text.
func AndTerm(q Expr, term string) (string, error) {
	t, err := Parse(term)
	if err != nil {
		return "", err
	}
	switch {
	case q == nil:
		return Format(t), nil
	case t == nil:
		return Format(q), nil
	}
	return Format(and([]Expr{q, t})), nil
}

// Format prints an expression; an empty query (nil) prints as "".
func Format(e Expr) string {
	if e == nil {
		return ""
	}
	return e.String()
}

// keyword reports whether s reads as an operator keyword.
func keyword(s string) bool {
	return strings.EqualFold(s, "AND") || strings.EqualFold(s, "OR") || strings.EqualFold(s, "NOT")
}

// special are the characters that end or change an unquoted word.
func special(r rune, bare bool) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '(', ')', '"', '\\', '*':
		return true
	case ':', '<', '>':
		return bare
	}
	return false
}

// formatValue prints a value: plain when it reads back the same, quoted when it has no
// wildcard, backslash-escaped around wildcards otherwise.
func formatValue(v Value, bare bool) string {
	if !v.Wild() {
		s := v.Parts[0]
		if plain(s, bare) {
			return s
		}
		return quote(s)
	}
	var b strings.Builder
	for i, p := range v.Parts {
		if i > 0 {
			b.WriteByte('*')
		}
		for j, r := range p {
			if special(r, bare) || isSpace(r) || (bare && i == 0 && j == 0 && r == '-') {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plain reports whether s can be printed as is: it reads back as one literal word.
func plain(s string, bare bool) bool {
	if s == "" || keyword(s) {
		return false
	}
	if bare && s[0] == '-' {
		return false
	}
	for _, r := range s {
		if special(r, bare) || isSpace(r) {
			return false
		}
	}
	return true
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// All is the conjunction of xs, nested ANDs flattened; one operand stands alone.
func All(xs []Expr) Expr { return and(xs) }

// Any is the disjunction of xs, nested ORs flattened; one operand stands alone.
func Any(xs []Expr) Expr { return or(xs) }

// and builds a conjunction, flattening nested ANDs (AND is associative).
func and(xs []Expr) Expr {
	var out []Expr
	for _, x := range xs {
		if a, ok := x.(*And); ok {
			out = append(out, a.X...)
		} else {
			out = append(out, x)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return &And{X: out}
}

// or builds a disjunction, flattening nested ORs.
func or(xs []Expr) Expr {
	var out []Expr
	for _, x := range xs {
		if o, ok := x.(*Or); ok {
			out = append(out, o.X...)
		} else {
			out = append(out, x)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return &Or{X: out}
}
