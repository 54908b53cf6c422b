package scheduler

import (
	"slices"
	"testing"

	"github.com/berthdev/berth/internal/declared"
)

// Reasons holds every failure reason the package declares, once, and so
// every reason a Verdict gives.
func TestReasonsHoldsEveryFailureReason(t *testing.T) {
	constants, err := declared.Strings(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range constants {
		if c.Type != "Reason" {
			continue
		}
		n++
		if !slices.Contains(Reasons, Reason(c.Value)) {
			t.Errorf("Reasons lacks %s (%s)", c.Name, c.Value)
		}
	}
	if n == 0 || len(Reasons) != n {
		t.Errorf("Reasons holds %d reasons, the package declares %d", len(Reasons), n)
	}
	for v := Fits + 1; v <= NotMember; v++ {
		if !slices.Contains(Reasons, v.Reason()) {
			t.Errorf("verdict %d gives %q, which Reasons lacks", v, v.Reason())
		}
	}
}
