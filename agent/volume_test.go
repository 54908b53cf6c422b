package agent_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/agent"
)

// efsVolumes lists the local volumes standing in for the EFS file system.
func efsVolumes(t *testing.T, e *env, fsID string) []*volume.Volume {
	t.Helper()
	list, err := e.api.VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", e.label),
		filters.Arg("label", "berth.efs.file-system-id="+fsID),
	)})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	return list.Volumes
}

// An EFS file system is emulated by one local Docker volume per file system
// and root directory. Like the file system it stands for, the volume
// outlives the tasks that mount it: the agent never removes it.
func TestEFSVolumeIsSharedByTasksNamingTheSameFileSystem(t *testing.T) {
	t.Parallel()
	// Stopped tasks stay, logs and all, until the test removes them.
	e := newEnv(t, func(c *agent.Config) { c.CleanupWait = time.Hour })
	remove := func(arn string) {
		t.Helper()
		if err := e.agent.RemoveTask(context.Background(), arn); err != nil {
			t.Fatalf("remove task: %v", err)
		}
	}
	fsID := "fs-" + strconv.FormatInt(time.Now().UnixNano(), 16)
	def := func(family, root, command string) string {
		return fmt.Sprintf(`{"family":%q,"volumes":[{"name":"files","efsVolumeConfiguration":{"fileSystemId":%q,"rootDirectory":%q}}],
			"containerDefinitions":[{"name":"app","image":"berth/demo","memory":32,"command":%s,
			 "mountPoints":[{"sourceVolume":"files","containerPath":"/mnt/efs"}]}]}`, family, fsID, root, command)
	}
	// The reader starts first and waits for the writer's file.
	reader := e.run(def("efsreader", "/shared", `["read","/mnt/efs/msg","--wait","5s"]`))
	writer := e.run(def("efswriter", "/shared/", `["write","/mnt/efs/msg","written by another task"]`))
	for name, arn := range map[string]string{"reader": reader, "writer": writer} {
		st := e.waitStatus(arn, agent.TaskStopped)
		if c := ctrOf(t, st, "app"); exitCode(c) != "0" {
			t.Errorf("%s exited %s, want 0 (%s)", name, exitCode(c), describe(st))
		}
		if !hasWarning(st, "EFS file system "+fsID+" is emulated") {
			t.Errorf("%s has no warning about the emulated EFS volume: %q", name, st.Warnings)
		}
	}
	if out := e.logs(reader, "app"); !strings.Contains(out, "written by another task") {
		t.Errorf("the reader printed %q, want the writer's text", out)
	}
	// Another root directory of the same file system is another volume.
	other := e.run(def("efsother", "/elsewhere", `["read","/mnt/efs/msg"]`))
	if st := e.waitStatus(other, agent.TaskStopped); exitCode(ctrOf(t, st, "app")) != "1" {
		t.Errorf("a task of root directory /elsewhere read the file of /shared: %s", describe(st))
	}

	for _, arn := range []string{reader, writer, other} {
		remove(arn)
	}
	// The emulated file system stays after every task using it is gone.
	if vs := efsVolumes(t, e, fsID); len(vs) != 2 {
		t.Errorf("%d volumes for %s after its tasks were cleaned up, want 2 (one per root directory)", len(vs), fsID)
	}
	// A task started now still finds the data.
	again := e.run(def("efsagain", "/shared", `["read","/mnt/efs/msg"]`))
	if st := e.waitStatus(again, agent.TaskStopped); exitCode(ctrOf(t, st, "app")) != "0" {
		t.Errorf("a later task did not find the data: %s", describe(st))
	}
	remove(again)
}

func hasWarning(s agent.TaskState, part string) bool {
	for _, w := range s.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}
