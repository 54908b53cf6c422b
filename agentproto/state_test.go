package agentproto

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
)

// A report carries a task's state whole: read back, it is the state the
// agent had, as far as DescribeTasks shows it.
func TestAReportReadsBackAsTheStateItTells(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	exit := 137
	s := agent.TaskState{
		ARN: "arn:aws:ecs:us-east-1:000000000000:task/c/0123", Cluster: "c", LastStatus: agent.TaskStopped, DesiredStatus: agent.TaskStopped,
		Version: 9, HealthStatus: agent.HealthUnhealthy, StopCode: agent.StopEssentialContainerExited, StoppedReason: "Essential container in task exited",
		CreatedAt: at, PullStartedAt: at.Add(time.Second), PullStoppedAt: at.Add(2 * time.Second), StartedAt: at.Add(3 * time.Second),
		StoppingAt: at.Add(4 * time.Second), ExecutionStoppedAt: at.Add(5 * time.Second), StoppedAt: at.Add(6 * time.Second),
		Address: "10.199.0.7",
		Containers: []agent.ContainerState{{Name: "app", ImageID: "sha256:ab", DockerID: "cd", LastStatus: agent.ContainerStopped, ExitCode: &exit,
			Reason: "OutOfMemoryError: Container killed due to memory usage", HealthStatus: agent.HealthUnhealthy,
			NetworkBindings: []agent.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: 8080, HostPort: 49153, Protocol: "tcp"}}}},
	}
	m := Report(s)
	if m.MessageID != s.ARN+"#9" || m.Version != 9 || m.Change.Status != "STOPPED" {
		t.Fatalf("report %+v", m)
	}
	got, err := m.State()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, s)
	}
}

func TestAReportOfAStatusThatIsNoneIsRefusedNamingTheMember(t *testing.T) {
	tests := map[string]func(*TaskStateChange){
		"change.status":               func(m *TaskStateChange) { m.Change.Status = "NONE" },
		"desiredStatus":               func(m *TaskStateChange) { m.DesiredStatus = "LATER" },
		"change.containers[0].status": func(m *TaskStateChange) { m.Change.Containers[0].Status = "EXITED" },
		"address":                     func(m *TaskStateChange) { m.Address = "fe80::1" },
	}
	for member, spoil := range tests {
		m := Report(agent.TaskState{ARN: "arn:t", LastStatus: agent.TaskRunning, DesiredStatus: agent.TaskRunning,
			Containers: []agent.ContainerState{{Name: "app", LastStatus: agent.ContainerRunning}}})
		spoil(&m)
		if _, err := m.State(); err == nil || !strings.HasPrefix(err.Error(), member+":") {
			t.Errorf("%s: %v", member, err)
		}
	}
}

// The report of a task an agent could not start comes after every report
// the task had: it is the last word of it.
func TestStoppedIsTheLastWord(t *testing.T) {
	m := Stopped("c", "arn:t", "TaskFailedToStart", "ResourceInitializationError: no", time.Now())
	s, err := m.State()
	if err != nil || s.LastStatus != agent.TaskStopped || s.StopCode != "TaskFailedToStart" || m.Version <= 1<<40 {
		t.Errorf("%+v %v", s, err)
	}
}
