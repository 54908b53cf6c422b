package query

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"time"
)

type node interface {
	eval(t Target) bool
}

type orNode struct{ left, right node }

func (n orNode) eval(t Target) bool { return n.left.eval(t) || n.right.eval(t) }

type andNode struct{ left, right node }

func (n andNode) eval(t Target) bool { return n.left.eval(t) && n.right.eval(t) }

type notNode struct{ x node }

func (n notNode) eval(t Target) bool { return !n.x.eval(t) }

// comparison is one `subject operator [argument]`. Negative operators are
// stored as their positive twin with negate set.
type comparison struct {
	subject Subject
	name    string // attribute name
	op      Operator
	negate  bool

	str      string
	list     []string
	re       *regexp.Regexp
	version  []int
	when     time.Time
	dateOnly bool
	count    int

	// match tests a string value against ==, in or =~; it is bound once at
	// parse time so evaluation allocates nothing.
	match func(string) bool
}

func (c *comparison) eval(t Target) bool { return c.positive(t) != c.negate }

func (c *comparison) positive(t Target) bool {
	switch c.subject {
	case TaskGroup:
		// Equality and lists look groups up; only patterns need to see
		// every group on the instance.
		switch c.op {
		case Equals:
			return t.HasTaskGroup(c.str)
		case In:
			for _, g := range c.list {
				if t.HasTaskGroup(g) {
					return true
				}
			}
			return false
		}
		return t.AnyTaskGroup(c.match)
	case EC2InstanceID:
		return c.match(t.EC2InstanceID())
	case AgentConnected:
		return c.match(strconv.FormatBool(t.AgentConnected()))
	case AgentVersion:
		v, ok := parseVersion(t.AgentVersion())
		return ok && c.order(slices.Compare(v, c.version))
	case RegisteredAt:
		at := t.RegisteredAt().UTC()
		if c.dateOnly {
			at = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		}
		return c.order(at.Compare(c.when))
	case RunningTasksCount:
		return c.order(cmp.Compare(t.RunningTasksCount(), c.count))
	case Attribute:
		v, ok := t.Attribute(c.name)
		if c.op == Exists || !ok {
			return ok
		}
		switch c.op {
		case Equals, In, Matches:
			return c.match(v)
		}
		return c.order(compareAttribute(v, c.str))
	}
	return false
}

// order applies an ordering operator to the result of comparing the
// instance's value with the argument.
func (c *comparison) order(r int) bool {
	switch c.op {
	case Equals:
		return r == 0
	case GreaterThan:
		return r > 0
	case GreaterThanEqual:
		return r >= 0
	case LessThan:
		return r < 0
	case LessThanEqual:
		return r <= 0
	}
	return false
}

func (c *comparison) matchEquals(v string) bool { return v == c.str }

func (c *comparison) matchIn(v string) bool { return slices.Contains(c.list, v) }

// compareAttribute compares numerically when both values are numbers, so
// that attribute:cores > 8 means what it says, and as strings otherwise.
func compareAttribute(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}
