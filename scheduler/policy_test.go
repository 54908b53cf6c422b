package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/scheduler/query"
)

func TestCompileRejectsInvalidConstraintsAndStrategiesNamingTheField(t *testing.T) {
	eleven := make([]Constraint, 11)
	for i := range eleven {
		eleven[i] = Constraint{Type: DistinctInstance}
	}
	tests := []struct {
		name        string
		taskDef     []Constraint
		request     []Constraint
		strategies  []Strategy
		field, rule string
	}{
		{name: "more than ten constraints", request: eleven, field: "placementConstraints", rule: "at most 10"},
		{name: "ten constraints split between task definition and request plus one",
			taskDef: []Constraint{{Type: MemberOf, Expression: "attribute:a exists"}}, request: eleven[:10],
			field: "placementConstraints", rule: "got 11"},
		{name: "an unknown constraint type", request: []Constraint{{Type: "sameZone"}}, field: "placementConstraints[0].type", rule: "not a constraint type"},
		{name: "a constraint without a type", request: []Constraint{{}}, field: "placementConstraints[0].type", rule: "is required"},
		{name: "distinctInstance with an expression", request: []Constraint{{Type: DistinctInstance, Expression: "attribute:a exists"}},
			field: "placementConstraints[0].expression", rule: "takes no expression"},
		{name: "memberOf without an expression", request: []Constraint{{Type: MemberOf}}, field: "placementConstraints[0].expression", rule: "needs a cluster query"},
		{name: "memberOf with a malformed expression", request: []Constraint{{Type: MemberOf}, {Type: MemberOf, Expression: "attribute:a =="}},
			field: "placementConstraints[0].expression", rule: "needs a cluster query"},
		{name: "memberOf naming the syntax error's position", request: []Constraint{{Type: MemberOf, Expression: "attribute:a == b &&"}},
			field: "placementConstraints[0].expression", rule: "position 20"},
		{name: "distinctInstance in a task definition", taskDef: []Constraint{{Type: DistinctInstance}},
			field: "placementConstraints[0].type", rule: "only use memberOf"},
		{name: "more than five strategies", strategies: slices.Repeat([]Strategy{{Type: Random}}, 6), field: "placementStrategy", rule: "at most 5"},
		{name: "an unknown strategy type", strategies: []Strategy{{Type: "pack"}}, field: "placementStrategy[0].type", rule: "not a strategy type"},
		{name: "a strategy without a type", strategies: []Strategy{{Field: "cpu"}}, field: "placementStrategy[0].type", rule: "is required"},
		{name: "binpack on disk", strategies: []Strategy{{Type: Binpack, Field: "disk"}}, field: "placementStrategy[0].field", rule: "cpu or memory"},
		{name: "binpack without a field", strategies: []Strategy{{Type: Random}, {Type: Binpack}}, field: "placementStrategy[1].field", rule: "cpu or memory"},
		{name: "spread on a bare attribute name", strategies: []Strategy{{Type: Spread, Field: "ecs.availability-zone"}}, field: "placementStrategy[0].field", rule: "instanceId, host or attribute:NAME"},
		{name: "spread on an empty attribute", strategies: []Strategy{{Type: Spread, Field: "attribute:"}}, field: "placementStrategy[0].field", rule: "attribute:NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.taskDef, tt.request, tt.strategies, Standalone)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Compile error = %v, want a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Rule, tt.rule) {
				t.Errorf("got %q, want field %s and a rule containing %q", err, tt.field, tt.rule)
			}
			if !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("%v does not match ErrInvalidParameter", err)
			}
		})
	}
}

func TestValidationErrorsCarryTheQuerySyntaxError(t *testing.T) {
	err := ValidateConstraints(nil, []Constraint{{Type: MemberOf, Expression: "colour == red"}})
	var se *query.SyntaxError
	if !errors.As(err, &se) || se.Pos != 1 {
		t.Fatalf("error %v does not carry a *query.SyntaxError at position 1", err)
	}
}

func TestCompileAcceptsEveryDocumentedFormAndNormalisesIt(t *testing.T) {
	tests := []struct {
		name string
		in   []Strategy
		kind Kind
		want []Strategy
	}{
		{"standalone tasks default to random", nil, Standalone, []Strategy{{Type: Random}}},
		{"services default to spread over zones", nil, ServiceTasks, []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}}},
		{"host is another name for instanceId", []Strategy{{Type: Spread, Field: "host"}}, Standalone, []Strategy{{Type: Spread, Field: "instanceId"}}},
		{"binpack fields are case-insensitive", []Strategy{{Type: Binpack, Field: "MEMORY"}}, Standalone, []Strategy{{Type: Binpack, Field: "memory"}}},
		{"random ignores its field", []Strategy{{Type: Random, Field: "whatever"}}, Standalone, []Strategy{{Type: Random}}},
		{"five strategies in order", []Strategy{
			{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Spread, Field: "instanceId"},
			{Type: Binpack, Field: "memory"}, {Type: Binpack, Field: "cpu"}, {Type: Random},
		}, ServiceTasks, []Strategy{
			{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Spread, Field: "instanceId"},
			{Type: Binpack, Field: "memory"}, {Type: Binpack, Field: "cpu"}, {Type: Random},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile([]Constraint{{Type: MemberOf, Expression: "attribute:ecs.os-type == linux"}},
				[]Constraint{{Type: DistinctInstance}}, tt.in, tt.kind)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := p.Strategies(); !slices.Equal(got, tt.want) {
				t.Errorf("strategies = %v, want %v", got, tt.want)
			}
		})
	}
}
