package scheduler

import (
	"errors"
	"fmt"
	"strings"

	"github.com/berthdev/berth/scheduler/query"
)

// Constraint is a placement constraint as the API carries it.
type Constraint struct {
	Type       string // "distinctInstance" or "memberOf"
	Expression string // a cluster query expression; memberOf only
}

// Strategy is a placement strategy as the API carries it.
type Strategy struct {
	Type  string // "binpack", "spread" or "random"
	Field string
}

// Limits ECS puts on placement parameters.
const (
	MaxConstraints = 10
	MaxStrategies  = 5
	MinCount       = 1
	MaxCount       = 10
)

// Constraint and strategy type names.
const (
	DistinctInstance = "distinctInstance"
	MemberOf         = "memberOf"
	Binpack          = "binpack"
	Spread           = "spread"
	Random           = "random"
)

// Kind says who asks for placement; it decides the default strategy.
type Kind int

const (
	// Standalone tasks (RunTask) are placed randomly unless told otherwise.
	Standalone Kind = iota
	// ServiceTasks are spread over availability zones unless told otherwise.
	ServiceTasks
)

// ErrInvalidParameter is what every *ValidationError matches with
// errors.Is; the API layer turns it into InvalidParameterException.
var ErrInvalidParameter = errors.New("invalid parameter")

// ValidationError names the offending field and the rule it breaks.
type ValidationError struct {
	Field string // e.g. "placementConstraints[1].expression"
	Rule  string
	Err   error // the underlying *query.SyntaxError, if any
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Rule }

// Unwrap gives errors.Is and errors.As the sentinel and the syntax error.
func (e *ValidationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidParameter, e.Err}
	}
	return []error{ErrInvalidParameter}
}

// Policy is a validated, compiled set of constraints and strategies. It is
// immutable and may be shared by concurrent placements.
type Policy struct {
	distinct   bool
	memberOf   []*query.Expr
	strategies []Strategy // normalised: binpack fields lower case, host → instanceId
}

// Compile validates constraints and strategies and compiles their
// expressions. taskDef holds the task definition's constraints (memberOf
// only), request those of the RunTask or service; together they may number
// at most 10. Without strategies the ECS default for kind applies.
func Compile(taskDef, request []Constraint, strategies []Strategy, kind Kind) (*Policy, error) {
	if n := len(taskDef) + len(request); n > MaxConstraints {
		return nil, &ValidationError{Field: "placementConstraints",
			Rule: fmt.Sprintf("at most %d placement constraints are allowed, task definition and request together; got %d", MaxConstraints, n)}
	}
	p := &Policy{}
	for i, c := range taskDef {
		if c.Type == DistinctInstance {
			return nil, &ValidationError{Field: fmt.Sprintf("placementConstraints[%d].type", i),
				Rule: "a task definition may only use memberOf constraints; distinctInstance belongs to RunTask or the service"}
		}
		if err := p.addConstraint(fmt.Sprintf("placementConstraints[%d]", i), c); err != nil {
			return nil, err
		}
	}
	for i, c := range request {
		if err := p.addConstraint(fmt.Sprintf("placementConstraints[%d]", i), c); err != nil {
			return nil, err
		}
	}
	if len(strategies) > MaxStrategies {
		return nil, &ValidationError{Field: "placementStrategy",
			Rule: fmt.Sprintf("at most %d placement strategies are allowed; got %d", MaxStrategies, len(strategies))}
	}
	for i, s := range strategies {
		norm, err := normaliseStrategy(fmt.Sprintf("placementStrategy[%d]", i), s)
		if err != nil {
			return nil, err
		}
		p.strategies = append(p.strategies, norm)
	}
	if len(p.strategies) == 0 {
		p.strategies = DefaultStrategies(kind)
	}
	return p, nil
}

// DefaultStrategies are ECS's strategies when none are given: services
// spread over availability zones; standalone tasks are placed at random.
func DefaultStrategies(kind Kind) []Strategy {
	if kind == ServiceTasks {
		return []Strategy{{Type: Spread, Field: "attribute:" + AttrAvailabilityZone}}
	}
	return []Strategy{{Type: Random}}
}

// ValidateConstraints checks constraints the way Compile does, for callers
// that store them (CreateService, RegisterTaskDefinition) before placing.
func ValidateConstraints(taskDef, request []Constraint) error {
	_, err := Compile(taskDef, request, nil, Standalone)
	return err
}

// ValidateStrategies checks strategies the way Compile does.
func ValidateStrategies(strategies []Strategy) error {
	_, err := Compile(nil, nil, strategies, Standalone)
	return err
}

// Strategies returns the strategies the policy applies, in order.
func (p *Policy) Strategies() []Strategy { return append([]Strategy(nil), p.strategies...) }

func (p *Policy) addConstraint(field string, c Constraint) error {
	switch c.Type {
	case DistinctInstance:
		if strings.TrimSpace(c.Expression) != "" {
			return &ValidationError{Field: field + ".expression", Rule: "distinctInstance takes no expression"}
		}
		p.distinct = true
	case MemberOf:
		if strings.TrimSpace(c.Expression) == "" {
			return &ValidationError{Field: field + ".expression", Rule: "memberOf needs a cluster query expression"}
		}
		e, err := query.Parse(c.Expression)
		if err != nil {
			return &ValidationError{Field: field + ".expression", Rule: err.Error(), Err: err}
		}
		p.memberOf = append(p.memberOf, e)
	case "":
		return &ValidationError{Field: field + ".type", Rule: "is required: distinctInstance or memberOf"}
	default:
		return &ValidationError{Field: field + ".type", Rule: fmt.Sprintf("%q is not a constraint type; use distinctInstance or memberOf", c.Type)}
	}
	return nil
}

func normaliseStrategy(field string, s Strategy) (Strategy, error) {
	switch s.Type {
	case Binpack:
		f := strings.ToLower(s.Field)
		if f != "cpu" && f != "memory" {
			return s, &ValidationError{Field: field + ".field", Rule: fmt.Sprintf("binpack field must be cpu or memory, not %q", s.Field)}
		}
		return Strategy{Type: Binpack, Field: f}, nil
	case Spread:
		switch {
		case s.Field == "instanceId" || strings.EqualFold(s.Field, "host"):
			return Strategy{Type: Spread, Field: "instanceId"}, nil
		case strings.HasPrefix(s.Field, "attribute:") && len(s.Field) > len("attribute:"):
			return s, nil
		}
		return s, &ValidationError{Field: field + ".field", Rule: fmt.Sprintf("spread field must be instanceId, host or attribute:NAME, not %q", s.Field)}
	case Random:
		// ECS ignores the field of a random strategy.
		return Strategy{Type: Random}, nil
	case "":
		return s, &ValidationError{Field: field + ".type", Rule: "is required: binpack, spread or random"}
	}
	return s, &ValidationError{Field: field + ".type", Rule: fmt.Sprintf("%q is not a strategy type; use binpack, spread or random", s.Type)}
}
