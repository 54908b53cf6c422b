package fargate

import (
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/declared"
)

// Reasons holds every failure reason the package declares, once.
func TestReasonsHoldsEveryFailureReason(t *testing.T) {
	constants, err := declared.Strings(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range constants {
		if !strings.HasPrefix(c.Name, "Reason") {
			continue
		}
		n++
		if !slices.Contains(Reasons, c.Value) {
			t.Errorf("Reasons lacks %s (%s)", c.Name, c.Value)
		}
	}
	if n == 0 || len(Reasons) != n {
		t.Errorf("Reasons holds %d reasons, the package declares %d", len(Reasons), n)
	}
}
