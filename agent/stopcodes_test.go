package agent_test

import (
	"slices"
	"testing"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/internal/declared"
)

// StopCodes holds every stop code the package declares, once.
func TestStopCodesHoldsEveryStopCode(t *testing.T) {
	constants, err := declared.Strings(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range constants {
		if c.Type != "StopCode" {
			continue
		}
		n++
		if !slices.Contains(agent.StopCodes, agent.StopCode(c.Value)) {
			t.Errorf("StopCodes lacks %s (%s)", c.Name, c.Value)
		}
	}
	if n == 0 || len(agent.StopCodes) != n {
		t.Errorf("StopCodes holds %d codes, the package declares %d", len(agent.StopCodes), n)
	}
}
