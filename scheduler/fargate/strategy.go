package fargate

import (
	"fmt"
	"math"
)

// The capacity providers of Fargate.
const (
	ProviderFargate     = "FARGATE"
	ProviderFargateSpot = "FARGATE_SPOT"
)

// StrategyItem is one entry of a capacity provider strategy, as RunTask
// takes it.
type StrategyItem struct {
	Provider string
	// Base is how many tasks at least run on this provider; one item at
	// most has one.
	Base int
	// Weight is the provider's share of the tasks beyond the base,
	// relative to the other items' weights.
	Weight int
}

// Split says, for count tasks, which provider each runs on, as ECS spreads
// tasks over a capacity provider strategy: the base first, on its
// provider; then each next task on the provider furthest below its share
// by weight (the first listed, on a tie). A provider of weight 0 takes only
// its base. The strategy must be valid (CheckStrategy).
func Split(strategy []StrategyItem, count int) []string {
	out := make([]string, 0, count)
	beyondBase := make([]int, len(strategy))
	for _, s := range strategy {
		for n := 0; n < s.Base && len(out) < count; n++ {
			out = append(out, s.Provider)
		}
	}
	for len(out) < count {
		best, bestLoad := -1, math.Inf(1)
		for i, s := range strategy {
			if s.Weight <= 0 {
				continue
			}
			// How far along its share the provider would be with one more.
			if load := float64(beyondBase[i]+1) / float64(s.Weight); load < bestLoad {
				best, bestLoad = i, load
			}
		}
		if best < 0 {
			break // only bases, and they are filled
		}
		beyondBase[best]++
		out = append(out, strategy[best].Provider)
	}
	return out
}

// CheckStrategy refuses a strategy ECS refuses, in ECS's words where it has
// them: unknown providers, more than one base, weights and bases out of
// range, no weight at all, a provider named twice.
func CheckStrategy(strategy []StrategyItem) error {
	if len(strategy) == 0 {
		return fmt.Errorf("capacityProviderStrategy: at least one capacity provider is required")
	}
	if len(strategy) > 20 {
		return fmt.Errorf("capacityProviderStrategy: at most 20 capacity providers; got %d", len(strategy))
	}
	bases, weight := 0, 0
	seen := map[string]bool{}
	for _, s := range strategy {
		switch {
		case s.Provider != ProviderFargate && s.Provider != ProviderFargateSpot:
			return fmt.Errorf("capacityProviderStrategy: capacity provider %q is not one berth provides: FARGATE or FARGATE_SPOT", s.Provider)
		case seen[s.Provider]:
			return fmt.Errorf("capacityProviderStrategy: capacity provider %s is named more than once", s.Provider)
		case s.Weight < 0 || s.Weight > 1000:
			return fmt.Errorf("capacityProviderStrategy: the weight of %s must be 0 to 1000; got %d", s.Provider, s.Weight)
		case s.Base < 0 || s.Base > 100000:
			return fmt.Errorf("capacityProviderStrategy: the base of %s must be 0 to 100000; got %d", s.Provider, s.Base)
		}
		seen[s.Provider] = true
		if s.Base > 0 {
			bases++
		}
		weight += s.Weight
	}
	if bases > 1 {
		return fmt.Errorf("capacityProviderStrategy: only one capacity provider may have a base")
	}
	if weight == 0 && bases == 0 {
		return fmt.Errorf("capacityProviderStrategy: at least one capacity provider must have a weight greater than 0")
	}
	return nil
}
