package query

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

type instance struct {
	connected bool
	version   string
	attrs     map[string]string
	ec2ID     string
	at        time.Time
	groups    []string
}

func (i instance) AgentConnected() bool { return i.connected }
func (i instance) AgentVersion() string { return i.version }
func (i instance) Attribute(name string) (string, bool) {
	v, ok := i.attrs[name]
	return v, ok
}
func (i instance) EC2InstanceID() string      { return i.ec2ID }
func (i instance) RegisteredAt() time.Time    { return i.at }
func (i instance) RunningTasksCount() int     { return len(i.groups) }
func (i instance) HasTaskGroup(g string) bool { return slices.Contains(i.groups, g) }
func (i instance) AnyTaskGroup(match func(string) bool) bool {
	return slices.ContainsFunc(i.groups, match)
}

var t2a = instance{
	connected: true,
	version:   "1.80.0",
	attrs: map[string]string{
		"ecs.instance-type":     "t2.micro",
		"ecs.availability-zone": "us-east-1a",
		"ecs.os-type":           "linux",
		"cores":                 "16",
		"stack":                 "prod",
	},
	ec2ID:  "i-0123456789abcdef0",
	at:     time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC),
	groups: []string{"service:web", "family:batch"},
}

func TestMatchEvaluatesEveryOperatorAndSubject(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		// The ECS developer guide's own examples.
		{"attribute:ecs.instance-type == t2.small", false},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"task:group == service:production", false},
		{"attribute:ecs.instance-type =~ g2.*", false},
		{"not(task:group == database)", true},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", false},
		{"attribute:ecs.instance-type =~ t2.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.instance-type =~ t2.* and not (attribute:ecs.availability-zone in [us-east-1a, us-east-1b])", false},
		{"attribute:ecs.instance-type =~ t2.* && !(attribute:ecs.availability-zone in [us-east-1b, us-east-1c])", true},
		{"runningTasksCount == 0", false},
		{"agentVersion < 1.14.5", false},
		{"registeredAt < 2018-07-01", true},

		// Each operator, in symbol and word form.
		{"attribute:ecs.os-type == linux", true},
		{"attribute:ecs.os-type equals linux", true},
		{"attribute:ecs.os-type != linux", false},
		{"attribute:ecs.os-type not_equals windows", true},
		{"attribute:cores > 8", true},
		{"attribute:cores greater_than 16", false},
		{"attribute:cores >= 16", true},
		{"attribute:cores greater_than_equal 17", false},
		{"attribute:cores < 100", true},
		{"attribute:cores less_than 2", false},
		{"attribute:cores <= 16", true},
		{"attribute:cores less_than_equal 15", false},
		{"attribute:stack exists", true},
		{"attribute:gpu exists", false},
		{"attribute:gpu !exists", true},
		{"attribute:stack not_exists", false},
		{"attribute:stack in [dev, prod]", true},
		{"attribute:stack !in [dev, prod]", false},
		{"attribute:stack not_in [dev, test]", true},
		{"attribute:stack =~ pr.d", true},
		{"attribute:stack matches p", false},
		{"attribute:stack !~ (dev|test)", true},
		{"attribute:stack not_matches (prod|test)", false},
		{"attribute:stack > a", true},

		// A missing attribute only satisfies the negative operators.
		{"attribute:gpu == nvidia", false},
		{"attribute:gpu != nvidia", true},
		{"attribute:gpu > 1", false},

		// Every subject.
		{"agentConnected == true", true},
		{"agentConnected != true", false},
		{"agentConnected in [false]", false},
		{"agentVersion >= 1.80.0", true},
		{"agentVersion > 1.9.0", true},
		{"agentVersion == 1.80.0", true},
		{"ec2InstanceId =~ i-0123.*", true},
		{"registeredAt == 2018-06-18", true},
		{"registeredAt > 2018-06-18T22:28:28Z", false},
		{"registeredAt >= 2018-06-18T22:28:28+00:00", true},
		{"registeredAt < 2018-06-18T22:28:29", true},
		{"runningTasksCount == 2", true},
		{"runningTasksCount > 1", true},
		{"task:group == service:web", true},
		{"task:group != service:web", false},
		{"task:group in [family:batch, service:api]", true},
		{"task:group =~ service:.*", true},
		{"task:group !~ service:.*", false},

		// Combinations and precedence: ! before && before ||.
		{"attribute:stack == dev || attribute:stack == prod && attribute:cores > 8", true},
		{"(attribute:stack == dev || attribute:stack == prod) && attribute:cores > 32", false},
		{"!attribute:stack == dev && attribute:ecs.os-type == linux", true},
		{"attribute:stack == dev or attribute:stack == qa", false},
		{"attribute:stack=='prod'&&attribute:cores>8", true},
		{"((attribute:stack =~ (prod|dev)))", true},
		{`(attribute:stack =~ pro\(?d)`, true},
		{"(attribute:stack =~ [()p]rod)", true},
		{"(attribute:stack =~ [^)]rod)", true},
		{"(attribute:stack =~ []p]rod)", true},
		{"(attribute:stack =~ [&&p]rod)", true},
		{"!!attribute:stack exists", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.Match(t2a); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRejectsMalformedExpressionsNamingThePosition(t *testing.T) {
	tests := []struct {
		name, expr string
		pos        int
		msg        string
	}{
		{"an empty expression", "   ", 4, "expression is empty"},
		{"an unknown subject", "color == red", 1, "unknown subject"},
		{"an attribute without a name", "attribute: == x", 1, "needs a name"},
		{"a missing operator", "attribute:a red", 13, "expected an operator"},
		{"an operator the subject does not take", "agentVersion =~ 1.*", 14, "cannot be used with agentVersion"},
		{"exists on a task group", "task:group exists", 12, "cannot be used"},
		{"a missing argument", "attribute:a ==", 15, "expected an argument"},
		{"in without a list", "attribute:a in x", 16, "argument list"},
		{"an empty list", "attribute:a in []", 16, "argument list is empty"},
		{"an unclosed list", "attribute:a in [x, y", 16, "never closed"},
		{"a list without commas", "attribute:a in [x y]", 19, "expected , or ]"},
		{"an unclosed parenthesis", "(attribute:a == b", 1, "never closed"},
		{"a stray closing parenthesis", "attribute:a == b)", 17, "expected && or ||"},
		{"a dangling &&", "attribute:a == b &&", 20, "expected an expression"},
		{"a bad regular expression", "attribute:a =~ (x", 16, "invalid regular expression"},
		{"a count that is not a number", "runningTasksCount > many", 21, "whole number"},
		{"a date in another layout", "registeredAt < 18/06/2018", 16, "registeredAt needs a date"},
		{"a version that is not one", "agentVersion > latest", 16, "needs a version"},
		{"an unclosed quote", "attribute:a == 'x", 16, "quoted argument"},
		{"trailing words", "attribute:a == b c", 18, "expected && or ||"},
		{"an expression over 2000 characters", "attribute:a == " + strings.Repeat("x", 1990), 2001, "limit is 2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want a *SyntaxError", tt.expr, err)
			}
			if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse(%q) = position %d %q, want position %d containing %q", tt.expr, se.Pos, se.Msg, tt.pos, tt.msg)
			}
		})
	}
}

func TestDependsOnTasksIsTrueOnlyForTaskSubjects(t *testing.T) {
	tests := map[string]bool{
		"attribute:ecs.os-type == linux":                    false,
		"ec2InstanceId != i-1 || agentConnected == true":    false,
		"attribute:a exists && task:group == service:web":   true,
		"!(runningTasksCount > 3) || attribute:a exists":    true,
		"registeredAt > 2020-01-01 && agentVersion > 1.0.0": false,
	}
	for expr, want := range tests {
		t.Run(expr, func(t *testing.T) {
			if got := MustParse(expr).DependsOnTasks(); got != want {
				t.Errorf("DependsOnTasks = %v, want %v", got, want)
			}
		})
	}
}

func TestParseAcceptsAnExpressionOfExactly2000Characters(t *testing.T) {
	expr := "attribute:a == " + strings.Repeat("x", MaxLength-len("attribute:a == "))
	if _, err := Parse(expr); err != nil {
		t.Fatalf("Parse of %d characters: %v", len(expr), err)
	}
}

func BenchmarkMatch(b *testing.B) {
	e := MustParse("attribute:ecs.instance-type =~ t2.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b] && !(task:group == service:db)")
	for b.Loop() {
		e.Match(t2a)
	}
}
