package agent_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
)

// A task that fails before any of its containers is created, on an agent
// that closes before the task's cleanup, leaves its cgroup behind; the next
// agent removes it, since no container of that task is on the engine.
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
	if left := cgroups(); len(left) != 0 {
		t.Errorf("the new agent left the cgroups %v", left)
		for _, d := range left {
			removeCgroupDir(t, d)
		}
	}
}
