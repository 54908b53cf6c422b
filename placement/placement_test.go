package placement

import (
	"errors"
	"testing"

	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/taskdef"
)

func load(t *testing.T, def string) *taskdef.Normalized {
	t.Helper()
	task, report, err := taskdef.Load([]byte(def), taskdef.Options{})
	if err != nil || !report.Valid() {
		t.Fatalf("test definition: %v %v", err, report.Errors)
	}
	return task
}

func TestPlaceOnTheLocalInstance(t *testing.T) {
	attrs := LocalAttributes("us-east-1")
	attrs["stack"] = "blue"
	local := Local("us-east-1", "000000000000", "default", "abc123", 2048, 4096, attrs)
	tests := []struct {
		name   string
		def    string
		reason scheduler.Reason // "" when the task fits
	}{
		{"a task that fits", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":512,"cpu":256}]}`, ""},
		{"more memory than the instance has", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":8192}]}`, scheduler.ReasonMemory},
		{"memoryReservation is what counts", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":8192,"memoryReservation":512}]}`, ""},
		{"more CPU than the instance has", `{"family":"f","cpu":"4096","memory":"512","containerDefinitions":[{"name":"a","image":"i"}]}`, scheduler.ReasonCPU},
		{"a reserved host port", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":22,"hostPort":22}]}]}`, scheduler.ReasonPorts},
		{"a dynamic host port", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":22}]}]}`, ""},
		{"memberOf that matches", `{"family":"f","placementConstraints":[{"type":"memberOf","expression":"attribute:stack == blue && attribute:ecs.os-type == linux"}],"containerDefinitions":[{"name":"a","image":"i","memory":64}]}`, ""},
		{"memberOf that does not", `{"family":"f","placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.instance-type =~ t3.*"}],"containerDefinitions":[{"name":"a","image":"i","memory":64}]}`, scheduler.ReasonAttribute},
		{"a runtime platform of another OS", `{"family":"f","runtimePlatform":{"operatingSystemFamily":"WINDOWS_SERVER_2022_CORE"},"containerDefinitions":[{"name":"a","image":"i","memory":64}]}`, scheduler.ReasonAttribute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PlaceOn(local, load(t, tt.def))
			var np *NotPlacedError
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("not placed: %v", err)
			case tt.reason != "" && !errors.As(err, &np):
				t.Fatalf("placed, or failed otherwise (%v); want %s", err, tt.reason)
			case tt.reason != "" && np.Failure.Reason != tt.reason:
				t.Fatalf("reason %s (%s), want %s", np.Failure.Reason, np.Failure.Detail, tt.reason)
			}
		})
	}
}

func TestNeedsFollowsECSAccounting(t *testing.T) {
	task := load(t, `{"family":"f","containerDefinitions":[
	  {"name":"a","image":"i","cpu":128,"memory":256,"memoryReservation":128,"portMappings":[{"containerPort":80,"hostPort":8080},{"containerPort":81}]},
	  {"name":"b","image":"i","cpu":64,"memory":64,"portMappings":[{"containerPort":53,"hostPort":53,"protocol":"udp"}]}]}`)
	got := Needs(task)
	if got.CPU != 192 || got.MemoryMiB != 192 {
		t.Errorf("cpu %d, memory %d; want 192 and 192 (reservation before limit)", got.CPU, got.MemoryMiB)
	}
	if len(got.TCPPorts) != 1 || got.TCPPorts[0] != 8080 || len(got.UDPPorts) != 1 || got.UDPPorts[0] != 53 {
		t.Errorf("ports tcp %v udp %v; want the static ones only: [8080] and [53]", got.TCPPorts, got.UDPPorts)
	}
}
