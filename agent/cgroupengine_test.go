package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent/cgroups"
	"github.com/berthdev/berth/internal/testenv"
)

// engineCgroupAgent is an agent of the test's own, which neither follows
// the engine nor runs tasks, made to write its task cgroups through the
// engine. Its cleanup fails the test if a container of it is left.
func engineCgroupAgent(t *testing.T, cgroupRoot string) *Agent {
	t.Helper()
	api := testenv.Docker(t)
	bin := testenv.EnsureImages(t)
	key, value := testenv.Label(t, api)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, _, err := newAgent(ctx, Config{Docker: api, BinaryPath: bin, CgroupRoot: cgroupRoot, Labels: map[string]string{key: value}})
	if err != nil {
		t.Fatal(err)
	}
	a.cgroups.useEngine()
	t.Cleanup(func() {
		a.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		left, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", key+"="+value))})
		if err != nil {
			t.Errorf("list the test's containers: %v", err)
		}
		for _, c := range left {
			t.Errorf("container %s (%s) was left behind", c.Names, c.Command)
		}
	})
	return a
}

// taskCgroupDirs lists the directories of task id's cgroup on the host.
func taskCgroupDirs(a *Agent, id string) []string {
	return a.cgroups.TaskDirs()[id]
}

// removeTaskCgroupDirs removes what a failed test left of task id's cgroup.
func removeTaskCgroupDirs(t *testing.T, a *Agent, id string) {
	for _, d := range taskCgroupDirs(a, id) {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Logf("remove cgroup %s: %v", d, err)
		}
	}
}

// An agent that cannot write the host's cgroups has the engine make the
// task cgroup, with the task's limits, and remove it: through a container
// that is gone when the agent is done with it.
func TestTaskCgroupThroughTheEngine(t *testing.T) {
	t.Parallel()
	a := engineCgroupAgent(t, DefaultCgroupRoot)
	tests := []struct {
		name        string
		cpu, memory int
		want        map[string]string // cgroup file (v1, v2) → content
	}{
		{"a quarter CPU and 512 MiB", 256, 512, map[string]string{
			"cpu/ecs/ID/cpu.cfs_quota_us":         "25000",
			"cpu/ecs/ID/cpu.cfs_period_us":        "100000",
			"memory/ecs/ID/memory.limit_in_bytes": "536870912",
			"ecs/ID/cpu.max":                      "25000 100000",
			"ecs/ID/memory.max":                   "536870912",
		}},
		{"memory alone", 0, 1024, map[string]string{
			"memory/ecs/ID/memory.limit_in_bytes": "1073741824",
			"ecs/ID/memory.max":                   "1073741824",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "enginecgroup" + randHex(8)
			t.Cleanup(func() { removeTaskCgroupDirs(t, a, id) })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := a.makeTaskCgroup(ctx, id, tt.cpu, tt.memory); err != nil {
				t.Fatalf("make the task cgroup: %v", err)
			}
			checked := 0
			for file, want := range tt.want {
				isV2 := strings.HasPrefix(file, "ecs/")
				if isV2 != (a.cgroups.Version == 2) {
					continue
				}
				checked++
				got, err := os.ReadFile(filepath.Join(DefaultCgroupRoot, strings.Replace(file, "ID", id, 1)))
				if err != nil || strings.TrimSpace(string(got)) != want {
					t.Errorf("%s: %q, %v; want %q", file, got, err, want)
				}
			}
			if checked == 0 {
				t.Fatalf("no file to check for cgroup v%d", a.cgroups.Version)
			}
			if err := a.removeCgroups(ctx, id); err != nil {
				t.Fatalf("remove the task cgroup: %v", err)
			}
			if left := taskCgroupDirs(a, id); len(left) > 0 {
				t.Errorf("the task cgroup is still there: %v", left)
			}
		})
	}
}

// A task cgroup left behind is swept through the engine too.
func TestTaskCgroupsLeftBehindAreSweptThroughTheEngine(t *testing.T) {
	t.Parallel()
	a := engineCgroupAgent(t, DefaultCgroupRoot)
	id := "strandedenginecgroup" + randHex(8)
	t.Cleanup(func() { removeTaskCgroupDirs(t, a, id) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.makeTaskCgroup(ctx, id, 256, 256); err != nil {
		t.Fatalf("make the task cgroup: %v", err)
	}
	old := time.Now().Add(-time.Hour)
	for _, d := range taskCgroupDirs(a, id) {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatalf("age the cgroup: %v", err)
		}
	}
	a.sweepCgroups(ctx)
	if left := taskCgroupDirs(a, id); len(left) > 0 {
		t.Errorf("the sweep left the cgroup %v", left)
	}
}

// When the engine cannot make the cgroup either, the error says why, in the
// words of the berth inside the container, and the container is gone.
func TestTaskCgroupThroughTheEngineSaysWhyItFailed(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a := engineCgroupAgent(t, notADir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := a.makeTaskCgroup(ctx, "failingcgroup"+randHex(8), 256, 512)
	if err == nil {
		t.Fatal("made a task cgroup under a file")
	}
	for _, want := range []string{"berth cgroup create exited 1", "not a directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestCgroupCommandTakesOnlyPlainTaskIDs(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{"", "..", "../../etc", "a/b", "a b"} {
		if err := cgroups.CreateTaskCgroup(root, 1, "", id, 256, 512); !errors.Is(err, cgroups.ErrBadName) {
			t.Errorf("create %q: %v, want cgroups.ErrBadName", id, err)
		}
		if err := cgroups.RemoveTaskCgroups(context.Background(), root, 1, "", "ok", id); !errors.Is(err, cgroups.ErrBadName) {
			t.Errorf("remove %q: %v, want cgroups.ErrBadName", id, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) > 0 {
		t.Errorf("a refused task ID made %v", entries)
	}
	if err := cgroups.CreateTaskCgroup(root, 3, "", "T", 256, 512); err == nil {
		t.Error("created a cgroup of version 3")
	}
}

// The cost of a task cgroup through the engine: its make and its removal,
// a helper container each.
func BenchmarkTaskCgroupThroughTheEngine(b *testing.B) {
	api := testenv.Docker(b)
	bin := testenv.EnsureImages(b)
	ctx := context.Background()
	a, _, err := newAgent(ctx, Config{Docker: api, BinaryPath: bin})
	if err != nil {
		b.Fatal(err)
	}
	defer a.cancel()
	a.cgroups.useEngine()
	for b.Loop() {
		id := "benchcgroup" + randHex(8)
		if err := a.makeTaskCgroup(ctx, id, 256, 512); err != nil {
			b.Fatal(err)
		}
		if err := a.removeCgroups(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// A helper container that a dead agent created and never started does not
// remove itself: the next agent's sweep removes it once it is older than a
// helper's deadline.
func TestCgroupContainersLeftUnstartedAreSwept(t *testing.T) {
	t.Parallel()
	a := engineCgroupAgent(t, DefaultCgroupRoot)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	image, err := a.currentPauseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created, err := a.docker.ContainerCreate(ctx, &container.Config{Image: image, Entrypoint: []string{"/berth"}, Cmd: []string{"cgroup", "remove", "none"},
		Labels: resourceLabels(a.cfg.Labels, scopeCgroup, "")}, &container.HostConfig{AutoRemove: true, NetworkMode: "none"}, nil, nil, "berth-cgroup-"+randHex(6))
	if err != nil {
		t.Fatal(err)
	}
	a.sweepCgroupHelpers(ctx, time.Hour)
	if _, err := a.docker.ContainerInspect(ctx, created.ID); err != nil {
		t.Fatalf("a sweep removed a helper container younger than the deadline: %v", err)
	}
	a.sweepCgroupHelpers(ctx, 0)
	if _, err := a.docker.ContainerInspect(ctx, created.ID); err == nil {
		t.Error("the sweep left the helper container")
	}
}

// An agent that may not write the host's cgroups makes its container
// instance's slice through the engine, with the instance's limits, makes
// its task cgroups inside it, and removes the slice through the engine.
func TestInstanceSliceThroughTheEngine(t *testing.T) {
	t.Parallel()
	a := engineCgroupAgent(t, DefaultCgroupRoot)
	if a.cgroups.Version != 1 {
		t.Skip("the files checked are cgroup v1's")
	}
	name := "engineslice" + randHex(8)
	a.cfg.Slice = &Slice{Name: name, CPU: 768, MemoryMiB: 96}
	id := "sliced" + randHex(8)
	t.Cleanup(func() {
		removeTaskCgroupDirs(t, a, id)
		_ = a.cgroups.RemoveSlice()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a.setUpSlice(ctx)
	if !a.SliceEnforced() {
		t.Fatal("the slice was not made")
	}
	for file, want := range map[string]string{
		"cpu/berth/NAME/cpu.shares":               "768",
		"memory/berth/NAME/memory.limit_in_bytes": "100663296",
	} {
		got, err := os.ReadFile(filepath.Join(DefaultCgroupRoot, strings.Replace(file, "NAME", name, 1)))
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s: %q, %v; want %q", file, got, err, want)
		}
	}
	if err := a.makeTaskCgroup(ctx, id, 256, 64); err != nil {
		t.Fatalf("make the task cgroup in the slice: %v", err)
	}
	if got := a.cgroups.Parent(id); got != "/berth/"+name+"/ecs/"+id {
		t.Errorf("the task's cgroup parent is %s, want it in the slice", got)
	}
	if dirs := taskCgroupDirs(a, id); len(dirs) == 0 || !strings.Contains(dirs[0], "/berth/"+name+"/ecs/") {
		t.Errorf("the task cgroup is at %v, want it in the slice", dirs)
	}
	if err := a.removeCgroups(ctx, id); err != nil {
		t.Fatalf("remove the task cgroup: %v", err)
	}
	if err := a.RemoveSlice(ctx); err != nil {
		t.Fatalf("remove the slice: %v", err)
	}
	if cgroups.SliceExists(DefaultCgroupRoot, name) {
		t.Errorf("the slice %s is still there", name)
	}
}
