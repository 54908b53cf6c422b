package query

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary text to the parser, as a memberOf expression
// from a task definition or a RunTask request would arrive. Whatever the
// text, Parse must not panic; it returns either an expression or a
// *SyntaxError whose position lies inside the text (or just past it). An
// expression it accepts is accepted again in parentheses and negated, and
// the negation matches exactly where the expression does not.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"attribute:ecs.instance-type =~ t2.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"!(task:group == service:db) || runningTasksCount < 3",
		"registeredAt >= 2018-06-18T22:28:28Z && agentVersion > 1.0.0",
		"ec2InstanceId in ['i-1', \"i-2\"] && agentConnected == true",
		"attribute:cores >= 8 && attribute:stack !exists",
		"((attribute:a == b)",
		"attribute:a in [",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		expr, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want a *SyntaxError", src, err, err)
			}
			if last := utf8.RuneCountInString(src) + 1; se.Pos < 1 || (se.Pos > last && se.Pos != MaxLength+1) {
				t.Fatalf("Parse(%q) points at character %d of %d", src, se.Pos, last-1)
			}
			if expr != nil || se.Error() == "" {
				t.Fatalf("Parse(%q) gave an expression or an empty message with its error", src)
			}
			return
		}
		if expr.String() != src {
			t.Fatalf("String() = %q, want the source %q", expr.String(), src)
		}
		if utf8.RuneCountInString(src)+3 > MaxLength {
			return
		}
		negated, err := Parse("!(" + src + ")")
		if err != nil {
			t.Fatalf("Parse(%q) succeeded but its negation failed: %v", src, err)
		}
		for _, target := range []instance{t2a, {}} {
			if expr.Match(target) == negated.Match(target) {
				t.Fatalf("%q and its negation agree on %+v", src, target)
			}
		}
	})
}
