package query

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	lit := Lit
	wild := func(parts ...string) Value { return Value{Parts: parts} }
	term := func(f string, op Op, v Value) *Term { return &Term{Field: f, Op: op, Value: v} }
	word := func(s string) *Word { return &Word{Value: lit(s)} }
	tests := []struct {
		in    string
		want  Expr
		print string
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"deleteobject", word("deleteobject"), "deleteobject"},
		{"delete*", &Word{wild("delete", "")}, "delete*"},
		{"*", &Word{wild("", "")}, "*"},
		{"eventName:ListBuckets", term("eventName", OpMatch, lit("ListBuckets")), "eventName:ListBuckets"},
		{"eventname:ListBuckets", term("eventName", OpMatch, lit("ListBuckets")), "eventName:ListBuckets"},
		{"EVENTNAME: ListBuckets", term("eventName", OpMatch, lit("ListBuckets")), "eventName:ListBuckets"},
		{"eventName:List* -errorCode:*", &And{[]Expr{term("eventName", OpMatch, wild("List", "")), &Not{term("errorCode", OpMatch, wild("", ""))}}}, "eventName:List* -errorCode:*"},
		{"userIdentity.type:AssumedRole AND sourceIPAddress:203.0.113.0/24",
			&And{[]Expr{term("userIdentity.type", OpMatch, lit("AssumedRole")), term("sourceIPAddress", OpMatch, lit("203.0.113.0/24"))}},
			"userIdentity.type:AssumedRole sourceIPAddress:203.0.113.0/24"},
		{`requestParameters.bucketName:"prod-data"`, term("requestParameters.bucketName", OpMatch, lit("prod-data")), "requestParameters.bucketName:prod-data"},
		{`requestparameters.bucketName:"prod data"`, term("requestParameters.bucketName", OpMatch, lit("prod data")), `requestParameters.bucketName:"prod data"`},
		{"resources.ARN:arn:aws:s3:::prod-data*", term("resources.ARN", OpMatch, wild("arn:aws:s3:::prod-data", "")), "resources.ARN:arn:aws:s3:::prod-data*"},
		{"(eventName:StopLogging OR eventName:DeleteTrail) NOT userIdentity.type:Root",
			&And{[]Expr{&Or{[]Expr{term("eventName", OpMatch, lit("StopLogging")), term("eventName", OpMatch, lit("DeleteTrail"))}},
				&Not{term("userIdentity.type", OpMatch, lit("Root"))}}},
			"(eventName:StopLogging OR eventName:DeleteTrail) -userIdentity.type:Root"},
		{"eventTime>=2024-05-09T20:00:00Z eventTime<2024-05-09T21:00:00Z",
			&And{[]Expr{term("eventTime", OpGE, lit("2024-05-09T20:00:00Z")), term("eventTime", OpLT, lit("2024-05-09T21:00:00Z"))}},
			"eventTime>=2024-05-09T20:00:00Z eventTime<2024-05-09T21:00:00Z"},
		{"eventTime<=2024-05-09", term("eventTime", OpLE, lit("2024-05-09")), "eventTime<=2024-05-09"},
		{"additionalEventData.bytesTransferredOut>1e6", term("additionalEventData.bytesTransferredOut", OpGT, lit("1e6")), "additionalEventData.bytesTransferredOut>1e6"},
		{"a OR b c", &Or{[]Expr{word("a"), &And{[]Expr{word("b"), word("c")}}}}, "a OR b c"},
		{"a b OR c", &Or{[]Expr{&And{[]Expr{word("a"), word("b")}}, word("c")}}, "a b OR c"},
		{"a and b or not c", &Or{[]Expr{&And{[]Expr{word("a"), word("b")}}, &Not{word("c")}}}, "a b OR -c"},
		{"NOT a b", &And{[]Expr{&Not{word("a")}, word("b")}}, "-a b"},
		{"NOT (a b)", &Not{&And{[]Expr{word("a"), word("b")}}}, "NOT (a b)"},
		{"-(a OR b)", &Not{&Or{[]Expr{word("a"), word("b")}}}, "NOT (a OR b)"},
		{"--a", &Not{&Not{word("a")}}, "--a"},
		{"a (b c) d", &And{[]Expr{word("a"), word("b"), word("c"), word("d")}}, "a b c d"},
		{"((a))", word("a"), "a"},
		{`"and"`, word("and"), `"and"`},
		{`"foo*"`, word("foo*"), `"foo*"`},
		{`"a:b"`, word("a:b"), `"a:b"`},
		{`a\:b`, word("a:b"), `"a:b"`},
		{`10.0.0.1:80`, word("10.0.0.1:80"), `"10.0.0.1:80"`},
		{`"-x"`, word("-x"), `"-x"`},
		{`field:"AND"`, term("field", OpMatch, lit("AND")), `field:"AND"`},
		// field:( … ) puts the field on each value inside; a ':' there is part of the value.
		{"sourceIPAddress:(203.0.113.7 OR 10.0.0.0/8)",
			&Or{[]Expr{term("sourceIPAddress", OpMatch, lit("203.0.113.7")), term("sourceIPAddress", OpMatch, lit("10.0.0.0/8"))}},
			"sourceIPAddress:203.0.113.7 OR sourceIPAddress:10.0.0.0/8"},
		{`eventname: ( Get* -"GetObject" ) errorCode:*`,
			&And{[]Expr{term("eventName", OpMatch, wild("Get", "")), &Not{term("eventName", OpMatch, lit("GetObject"))}, term("errorCode", OpMatch, wild("", ""))}},
			"eventName:Get* -eventName:GetObject errorCode:*"},
		{"userIdentity.arn:(arn:aws:iam::1:user/a OR (arn:aws:iam::1:role/* AND NOT *admin*))",
			&Or{[]Expr{term("userIdentity.arn", OpMatch, lit("arn:aws:iam::1:user/a")),
				&And{[]Expr{term("userIdentity.arn", OpMatch, wild("arn:aws:iam::1:role/", "")), &Not{term("userIdentity.arn", OpMatch, wild("", "admin", ""))}}}}},
			"userIdentity.arn:arn:aws:iam::1:user/a OR userIdentity.arn:arn:aws:iam::1:role/* -userIdentity.arn:*admin*"},
		{"a:(x) y", &And{[]Expr{term("a", OpMatch, lit("x")), word("y")}}, "a:x y"},
		{`field:""`, term("field", OpMatch, lit("")), `field:""`},
		{`field:-5`, term("field", OpMatch, lit("-5")), `field:-5`},
		{`userAgent:*\(Windows*`, term("userAgent", OpMatch, wild("", "(Windows", "")), `userAgent:*\(Windows*`},
		{`userAgent:Mozilla\ 5*`, term("userAgent", OpMatch, wild("Mozilla 5", "")), `userAgent:Mozilla\ 5*`},
		{`f:a**b`, term("f", OpMatch, wild("a", "b")), `f:a*b`},
		{`a.b\:c:x`, term("a.b:c", OpMatch, lit("x")), `a.b\:c:x`},
		{`f:"say \"hi\" \\ there"`, term("f", OpMatch, lit(`say "hi" \ there`)), `f:"say \"hi\" \\ there"`},
		{"café", word("café"), "café"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, dump(got), dump(tt.want))
			}
			if p := Format(got); p != tt.print {
				t.Errorf("Format = %q, want %q", p, tt.print)
			}
			back, err := Parse(Format(got))
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("round trip of %q: %s, %v", Format(got), dump(back), err)
			}
		})
	}
}

func dump(e Expr) string {
	switch x := e.(type) {
	case nil:
		return "nil"
	case *And:
		var s []string
		for _, y := range x.X {
			s = append(s, dump(y))
		}
		return "And(" + strings.Join(s, ", ") + ")"
	case *Or:
		var s []string
		for _, y := range x.X {
			s = append(s, dump(y))
		}
		return "Or(" + strings.Join(s, ", ") + ")"
	case *Not:
		return "Not(" + dump(x.X) + ")"
	case *Word:
		return fmt.Sprintf("Word%q", x.Value.Parts)
	case *Term:
		return fmt.Sprintf("Term(%s %s %q)", x.Field, x.Op, x.Value.Parts)
	}
	return "?"
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"(eventName:X OR y", 17, "1:18: expected ')' to close '(' at 1:1, found end of query"},
		{"a (b", 4, "1:5: expected ')' to close '(' at 1:3"},
		{"a)", 1, "1:2: unexpected ')'"},
		{"()", 1, "1:2: expected a term inside the parentheses"},
		{"AND a", 0, "1:1: expected a term before AND"},
		{"a AND", 5, "1:6: expected a term after AND (at 1:3), found end of query"},
		{"a OR OR b", 5, "1:6: expected a term after OR (at 1:3), found OR"},
		{"a OR", 4, "1:5: expected a term after OR"},
		{"NOT", 3, "1:4: expected a term after NOT"},
		{"a -", 3, "1:4: expected a term after '-'"},
		{`"abc`, 4, `1:5: expected '"' to close the quote opened at 1:1`},
		{`f:"abc`, 6, `1:7: expected '"' to close the quote opened at 1:3`},
		{"eventName:", 10, "1:11: expected a value after 'eventName:', found end of query"},
		{"eventName: )", 11, "1:12: expected a value after 'eventName:'"},
		{"eventName:()", 11, "1:12: expected a value inside eventName:( ) opened at 1:11"},
		{"eventName:(a OR", 15, "1:16: expected a term after OR (at 1:14), found end of query"},
		{"eventName:(a", 12, "1:13: expected ')' to close '(' at 1:11"},
		{"eventName:(", 11, "1:12: expected a value for eventName, found end of query"},
		{"bytes>(1)", 6, "1:7: expected a value after 'bytes>', found '('"},
		{"eventTime>yesterday", 10, "1:11: expected a time (RFC 3339 or YYYY-MM-DD) after 'eventTime>'"},
		{"eventTime>2024*", 10, "1:11: expected a number or time after 'eventTime>', found a wildcard"},
		{"bytes>=lots", 7, "1:8: expected a number after 'bytes>='"},
		{"de*te", 0, "1:1: a '*' is only allowed at the end of a bare word"},
		{"*te", 0, "1:1: a '*' is only allowed at the end of a bare word"},
		{"--", 2, "1:3: expected a term after '-'"},
		{"a ::", 2, "1:3: expected a word with a letter or digit"},
		{`a\`, 2, `1:3: expected a character after '\'`},
		{"a\n  (b", 6, "2:5: expected ')' to close '(' at 2:3"},
		{"x\xff", 1, "1:2: expected UTF-8 text"},
		{strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), 100, "1:101: query nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) error = %v, want *Error", tt.in, err)
			}
			if qe.Pos != tt.pos || !strings.HasPrefix(qe.Error(), tt.msg) {
				t.Errorf("Parse(%q) = pos %d %q, want pos %d %q…", tt.in, qe.Pos, qe.Error(), tt.pos, tt.msg)
			}
		})
	}
}

func TestFieldValue(t *testing.T) {
	tests := []struct{ field, value, want string }{
		{"eventName", "ListBuckets", "eventName:ListBuckets"},
		{"eventname", "ListBuckets", "eventName:ListBuckets"},
		{"userAgent", "Mozilla/5.0 (Windows NT 10.0)", `userAgent:"Mozilla/5.0 (Windows NT 10.0)"`},
		{"resources.ARN", "arn:aws:s3:::prod-data", "resources.ARN:arn:aws:s3:::prod-data"},
		{"errorMessage", `say "no" *now*`, `errorMessage:"say \"no\" *now*"`},
		{"requestParameters.encryptionContext.aws:s3:arn", "x", `requestParameters.encryptionContext.aws\:s3\:arn:x`},
		{"errorCode", "", `errorCode:""`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := FieldValue(tt.field, tt.value)
			if got != tt.want {
				t.Fatalf("FieldValue = %q, want %q", got, tt.want)
			}
			e, err := Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			term, ok := e.(*Term)
			if !ok || term.Value.Wild() || term.Value.Text() != tt.value || !strings.EqualFold(term.Field, tt.field) {
				t.Errorf("parsed back as %s", dump(e))
			}
		})
	}
	got, err := AndTerm(MustParse("eventName:List* OR x"), FieldValue("sourceIPAddress", "10.0.0.1"))
	if err != nil || got != "(eventName:List* OR x) sourceIPAddress:10.0.0.1" {
		t.Errorf("AndTerm = %q, %v", got, err)
	}
}

// TestCompileKeepsUserTextOut holds that no user text reaches the SQL string, only args.
func TestCompileKeepsUserTextOut(t *testing.T) {
	evil := []string{`' OR 1=1 --`, `x"; DROP TABLE events; --`, `/* c */`, `) OR (1=1`, `NEAR(a b)`, `a" OR "b`, `events_fts`, `%_\`}
	for _, s := range evil {
		for _, q := range []string{FieldValue("eventName", s), FieldValue("requestParameters.x", s), FieldValue("x."+"y", s+"*"),
			(&Word{Value: Lit(s)}).String(), `"` + strings.ReplaceAll(s, `"`, `\"`) + `" ` + FieldValue("sourceIPAddress", s)} {
			e, err := Parse(q)
			if err != nil {
				continue // some of these have no letters or digits as bare words
			}
			where, args, err := Compile(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, frag := range []string{"'", "--", "/*", "DROP", "1=1", "NEAR", `"`} {
				if strings.Contains(where, frag) && !strings.Contains(sqlSkeleton, frag) {
					t.Errorf("query %q: SQL contains %q: %s", q, frag, where)
				}
			}
			if n := strings.Count(where, "?"); n != len(args) {
				t.Errorf("query %q: %d placeholders, %d args", q, n, len(args))
			}
			for _, a := range args {
				if s, ok := a.(string); ok && strings.Contains(s, "MATCH") {
					t.Errorf("arg %q", s)
				}
			}
		}
	}
}

// TestDirectionField: direction:VALUE tests the direction column, never the record (which has
// no such field), with or without a wildcard, in any case.
func TestDirectionField(t *testing.T) {
	for q, want := range map[string]string{
		"direction:outbound": "e.direction = ? COLLATE NOCASE",
		"DIRECTION:Out*":     "e.direction <> '' AND e.direction LIKE ? ESCAPE '\\'",
		"-direction:*":       "NOT coalesce((e.direction <> ''), 0)",
	} {
		where, _, err := Compile(MustParse(q))
		if err != nil || where != want {
			t.Errorf("%s: %q %v, want %q", q, where, err, want)
		}
	}
	if v, ok := CountExpr(DirectionField); !ok || v != "e.direction" {
		t.Errorf("CountExpr(direction) = %q %v", v, ok)
	}
}

// sqlSkeleton lists the fixed SQL fragments Compile may emit that contain quote characters.
const sqlSkeleton = `'array' 'object' '[' ']' '[]' '{}' 'text' 'integer' 'real' 'null' 'true' 'false' '\' ''`

func TestPhraseQuoting(t *testing.T) {
	tests := []struct{ in, want string }{
		{"deleteobject", `"deleteobject"`},
		{"delete*", `"delete" *`},
		{"s3.amazonaws.com", `"s3 amazonaws com"`},
		{"foo-*", `"foo"`},
		{`NEAR`, `"near"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w := MustParse(tt.in).(*Word)
			if got := phrase(w.Value); got != tt.want {
				t.Errorf("phrase = %s, want %s", got, tt.want)
			}
		})
	}
}
