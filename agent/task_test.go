package agent

import (
	"reflect"
	"testing"

	"github.com/berthdev/berth/taskdef"
)

func TestTaskStatusesAreOrderedAndNamedAsTheAPINamesThem(t *testing.T) {
	order := []TaskStatus{TaskProvisioning, TaskPending, TaskActivating, TaskRunning, TaskDeactivating, TaskStopping, TaskDeprovisioning, TaskStopped, TaskDeleted}
	names := []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"}
	for i, s := range order {
		if s.String() != names[i] {
			t.Errorf("status %d is named %s, want %s", s, s, names[i])
		}
		if i > 0 && !(order[i-1] < s) {
			t.Errorf("%s must come before %s", order[i-1], s)
		}
		if parsed, ok := ParseTaskStatus(names[i]); !ok || parsed != s {
			t.Errorf("ParseTaskStatus(%s) = %v, %v", names[i], parsed, ok)
		}
	}
	if ContainerCreated.String() != "PENDING" {
		t.Errorf("a created container shows as %s, want PENDING", ContainerCreated)
	}
}

func TestEngineErrorsNameThemselvesInTheReason(t *testing.T) {
	err := engineErr(CannotPullContainerError, "pull image %s: %s", "x", "refused")
	if err.Error() != "CannotPullContainerError: pull image x: refused" {
		t.Errorf("message %q", err.Error())
	}
	if ErrorNameOf(err) != CannotPullContainerError {
		t.Errorf("ErrorNameOf = %q", ErrorNameOf(err))
	}
}

func TestCreationOrderPutsVolumeSourcesFirst(t *testing.T) {
	mk := func(name string, from ...string) *ctr {
		d := &taskdef.ContainerDefinition{Name: name}
		for _, f := range from {
			d.VolumesFrom = append(d.VolumesFrom, taskdef.VolumeFrom{SourceContainer: f})
		}
		return &ctr{def: d}
	}
	got := creationOrder([]*ctr{mk("a", "c"), mk("b"), mk("c", "b")})
	var names []string
	for _, c := range got {
		names = append(names, c.def.Name)
	}
	if want := []string{"b", "c", "a"}; !reflect.DeepEqual(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
}
