package agent

import (
	"errors"
	"testing"

	"github.com/docker/docker/errdefs"
)

func TestARemovalAnotherAgentIsMakingCountsAsDone(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"gone already", errdefs.NotFound(errors.New("No such container: abc")), true},
		{"being removed by another agent", errdefs.Conflict(errors.New("removal of container abc is already in progress")), true},
		{"a conflict of another kind", errdefs.Conflict(errors.New("You cannot remove a running container abc")), false},
		{"any other failure", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := removedAnyway(tt.err); got != tt.want {
				t.Errorf("removedAnyway(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
