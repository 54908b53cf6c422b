// Package query parses and evaluates ECS's cluster query language, the
// expressions of memberOf placement constraints and of ListContainerInstances
// filters:
//
//	attribute:ecs.instance-type =~ t2.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b]
//
// An expression is `subject operator [argument]`; expressions combine with
// `&&` (and), `||` (or), `!` (not) and parentheses. `!` binds tighter than
// `&&`, which binds tighter than `||`. Parse reports a *SyntaxError naming the
// 1-based character position of the problem; a parsed Expr is immutable and
// safe for concurrent use.
//
// Choices where the ECS documentation is silent:
//   - `=~` and `!~` take a regular expression (RE2 syntax, close to the Java
//     syntax ECS documents) that must match the whole value, as Java's
//     String.matches does; `t2.*` matches "t2.micro" but not "xt2.micro".
//   - A negative operator (`!=`, `!in`, `!~`, `!exists`) is exactly the
//     negation of its positive twin, so an instance without the attribute
//     satisfies `attribute:x != y`.
//   - `task:group` is true when any task on the instance satisfies the
//     comparison; its negative operators are true when none does.
//   - `>`, `>=`, `<`, `<=` on attributes compare numerically when both sides
//     are numbers and as strings otherwise.
package query

import (
	"fmt"
	"time"
)

// MaxLength is the longest expression ECS accepts, in characters.
const MaxLength = 2000

// Target is what an expression is evaluated against: one container instance
// as the scheduler sees it.
type Target interface {
	AgentConnected() bool
	AgentVersion() string
	Attribute(name string) (value string, ok bool)
	EC2InstanceID() string
	RegisteredAt() time.Time
	RunningTasksCount() int
	// HasTaskGroup reports whether a task of group runs on the instance.
	HasTaskGroup(group string) bool
	// AnyTaskGroup reports whether match is true for the group of any task
	// running on the instance.
	AnyTaskGroup(match func(group string) bool) bool
}

// Subject is what a comparison looks at.
type Subject int

// The subjects of the cluster query language.
const (
	AgentConnected Subject = iota
	AgentVersion
	Attribute
	EC2InstanceID
	RegisteredAt
	RunningTasksCount
	TaskGroup
)

var subjectNames = map[string]Subject{
	"agentConnected":    AgentConnected,
	"agentVersion":      AgentVersion,
	"ec2InstanceId":     EC2InstanceID,
	"registeredAt":      RegisteredAt,
	"runningTasksCount": RunningTasksCount,
	"task:group":        TaskGroup,
}

func (s Subject) String() string {
	if s == Attribute {
		return "attribute:NAME"
	}
	for name, v := range subjectNames {
		if v == s {
			return name
		}
	}
	return fmt.Sprintf("Subject(%d)", int(s))
}

// Operator is a comparison operator.
type Operator int

// The comparison operators; each has a symbol and a word spelling.
const (
	Equals Operator = iota
	NotEquals
	GreaterThan
	GreaterThanEqual
	LessThan
	LessThanEqual
	Exists
	NotExists
	In
	NotIn
	Matches
	NotMatches
)

var operatorSymbols = [...]string{"==", "!=", ">", ">=", "<", "<=", "exists", "!exists", "in", "!in", "=~", "!~"}

var operatorWords = map[string]Operator{
	"equals":             Equals,
	"not_equals":         NotEquals,
	"greater_than":       GreaterThan,
	"greater_than_equal": GreaterThanEqual,
	"less_than":          LessThan,
	"less_than_equal":    LessThanEqual,
	"exists":             Exists,
	"not_exists":         NotExists,
	"in":                 In,
	"not_in":             NotIn,
	"matches":            Matches,
	"not_matches":        NotMatches,
}

func (o Operator) String() string {
	if int(o) < len(operatorSymbols) {
		return operatorSymbols[o]
	}
	return fmt.Sprintf("Operator(%d)", int(o))
}

// negative reports whether o is the negation of another operator, and which.
func (o Operator) negative() (positive Operator, ok bool) {
	switch o {
	case NotEquals:
		return Equals, true
	case NotExists:
		return Exists, true
	case NotIn:
		return In, true
	case NotMatches:
		return Matches, true
	}
	return o, false
}

// allowed lists the operators each subject accepts, as the ECS developer
// guide gives them. Attributes accept every operator.
var (
	stringOperators  = []Operator{Equals, NotEquals, In, NotIn, Matches, NotMatches}
	orderedOperators = []Operator{Equals, NotEquals, GreaterThan, GreaterThanEqual, LessThan, LessThanEqual}
	allowed          = map[Subject][]Operator{
		AgentConnected:    stringOperators,
		AgentVersion:      orderedOperators,
		EC2InstanceID:     stringOperators,
		RegisteredAt:      orderedOperators,
		RunningTasksCount: orderedOperators,
		TaskGroup:         stringOperators,
	}
)

// SyntaxError is a malformed expression. Pos is the 1-based character
// position where the problem was found.
type SyntaxError struct {
	Expr string
	Pos  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid expression at position %d: %s", e.Pos, e.Msg)
}
