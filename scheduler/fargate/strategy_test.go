package fargate

import (
	"strings"
	"testing"
)

func TestSplitSpreadsTasksAsECSDoes(t *testing.T) {
	fg := func(base, weight int) StrategyItem {
		return StrategyItem{Provider: ProviderFargate, Base: base, Weight: weight}
	}
	spot := func(base, weight int) StrategyItem {
		return StrategyItem{Provider: ProviderFargateSpot, Base: base, Weight: weight}
	}
	tests := []struct {
		name     string
		strategy []StrategyItem
		count    int
		want     string
	}{
		{"FARGATE alone", []StrategyItem{fg(0, 1)}, 3, "FARGATE FARGATE FARGATE"},
		{"one to one", []StrategyItem{fg(0, 1), spot(0, 1)}, 4, "FARGATE FARGATE_SPOT FARGATE FARGATE_SPOT"},
		{"a base of 2 on FARGATE, the rest by weight 1:3", []StrategyItem{fg(2, 1), spot(0, 3)}, 6, "FARGATE FARGATE FARGATE_SPOT FARGATE_SPOT FARGATE FARGATE_SPOT"},
		{"a base bigger than the count", []StrategyItem{fg(5, 1), spot(0, 1)}, 3, "FARGATE FARGATE FARGATE"},
		{"a weight of 0 takes only its base", []StrategyItem{fg(1, 0), spot(0, 1)}, 3, "FARGATE FARGATE_SPOT FARGATE_SPOT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckStrategy(tt.strategy); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(Split(tt.strategy, tt.count), " "); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCheckStrategyRefusesWhatECSRefuses(t *testing.T) {
	tests := map[string][]StrategyItem{
		"no provider":                  nil,
		"an unknown provider":          {{Provider: "MY_ASG", Weight: 1}},
		"two bases":                    {{Provider: ProviderFargate, Base: 1, Weight: 1}, {Provider: ProviderFargateSpot, Base: 1, Weight: 1}},
		"a provider named twice":       {{Provider: ProviderFargate, Weight: 1}, {Provider: ProviderFargate, Weight: 2}},
		"a weight beyond 1000":         {{Provider: ProviderFargate, Weight: 1001}},
		"a negative base":              {{Provider: ProviderFargate, Base: -1, Weight: 1}},
		"no weight and no base at all": {{Provider: ProviderFargate}, {Provider: ProviderFargateSpot}},
	}
	for name, strategy := range tests {
		if err := CheckStrategy(strategy); err == nil || !strings.HasPrefix(err.Error(), "capacityProviderStrategy: ") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
