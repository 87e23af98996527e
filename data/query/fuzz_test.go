package query

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse holds that the parser never panics, that errors are *Error with a position inside the
// input, and that accepted queries print to text that parses back to the same tree and compiles.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"deleteobject", "eventName:List* -errorCode:*", `requestParameters.bucketName:"prod-data"`,
		"(eventName:StopLogging OR eventName:DeleteTrail) NOT userIdentity.type:Root", "eventTime>=2024-05-09T20:00:00Z",
		`a\:b "c d" e*`, "sourceIPAddress:203.0.113.0/24", "((a", `f:"\"`, "x>-1.5e3",
		"eventID:6F0C7B0E-1B2A", "userIdentity.arn:*Admin*", "sourceIPAddress:2001:db8::/32 eventName:Get*",
		`userIdentity.arn:(arn:aws:iam::1:user/a OR (b* AND NOT "c d")) x:()`, "sourceIPAddress: (10.0.0.0/8 -10.1.0.0/16)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Pos < 0 || qe.Pos > len(s) {
				t.Fatalf("Parse(%q) error %v", s, err)
			}
			return
		}
		text := Format(e)
		back, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) → %q does not parse: %v", s, text, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip %q → %q: %s != %s", s, text, dump(back), dump(e))
		}
		if Format(back) != text {
			t.Fatalf("printing is not stable: %q then %q", text, Format(back))
		}
		if _, _, err := Compile(e); err != nil {
			t.Fatalf("Compile(%q): %v", s, err)
		}
	})
}
