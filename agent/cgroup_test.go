package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
)

// A task that fails before any of its containers is created, on an agent
// that closes before the task's cleanup, leaves its cgroup behind. A new
// agent leaves it alone while it is young, since another agent's task may
// be about to create its first container in it, and removes it once it is
// older than that: no container of its task is on the engine.
func TestNewAgentRemovesTaskCgroupsLeftBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.CleanupWait = time.Hour })
	arn := e.run(`{"family":"strandedcgroup","cpu":"256","memory":"256","volumes":[{"name":"bad","host":{"sourcePath":"/tmp/berth:refused"}}],"containerDefinitions":[
		{"name":"app","image":"berth/demo","command":["sleep","60"],"mountPoints":[{"sourceVolume":"bad","containerPath":"/bad"}]}]}`)
	st := e.waitStatus(arn, agent.TaskStopped)
	if st.StopCode != agent.StopTaskFailedToStart {
		t.Fatalf("task: %s, want it to fail to start", describe(st))
	}
	cgroups := func() []string {
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "ecs", taskIDOf(arn)))
		return dirs
	}
	e.agent.Close()
	if len(cgroups()) == 0 {
		t.Fatal("the failed task made no cgroup: the test proves nothing")
	}
	e.start()
	if len(cgroups()) == 0 {
		t.Fatal("a new agent removed the cgroup of a task that may be starting")
	}
	e.agent.Close()
	old := time.Now().Add(-time.Hour)
	for _, d := range cgroups() {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatalf("age the cgroup: %v", err)
		}
	}
	e.start()
	if left := cgroups(); len(left) != 0 {
		t.Errorf("the new agent left the cgroups %v", left)
		for _, d := range left {
			removeCgroupDir(t, d)
		}
	}
}

// A task whose cgroup cannot be made does not run without its limits: it
// fails to start, with a reason in ECS's words, whether the cgroup comes
// before its pause container or before its first container.
func TestATaskWhoseCgroupCannotBeMadeFailsToStart(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, def string }{
		{"awsvpc: the cgroup comes before the pause container", `{"family":"nocgroupvpc","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
			{"name":"app","image":"berth/demo","command":["sleep","60"]}]}`},
		{"bridge: the cgroup comes before the first container", `{"family":"nocgroupbridge","cpu":"256","memory":"512","containerDefinitions":[
			{"name":"app","image":"berth/demo","command":["sleep","60"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No cgroup can be made under a file, by berth or the engine.
			notADir := filepath.Join(t.TempDir(), "cgroup")
			if err := os.WriteFile(notADir, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, func(c *agent.Config) { c.CgroupRoot = notADir })
			st := e.waitStatus(e.run(tt.def), agent.TaskStopped)
			if st.StopCode != agent.StopTaskFailedToStart {
				t.Fatalf("task: %s, want it to fail to start", describe(st))
			}
			const want = "ResourceInitializationError: failed to create the task cgroup /ecs/"
			if !strings.HasPrefix(st.StoppedReason, want) || !strings.Contains(st.StoppedReason, "task-level cpu and memory cannot be enforced: ") {
				t.Errorf("stoppedReason %q, want %q... task-level cpu and memory cannot be enforced: WHY", st.StoppedReason, want)
			}
			for _, c := range st.Containers {
				if c.StartedAt != (time.Time{}) {
					t.Errorf("container %s started without its task's limits", c.Name)
				}
			}
		})
	}
}
