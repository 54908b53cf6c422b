package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/internal/testenv"
)

// berth run by a member of the docker group, not root, holds a Fargate
// task to its cpu and memory: berth may not write the host's cgroups, so
// the engine makes the task cgroup for it, and removes it when the task is
// done. Nothing of the run is left: no container, no cgroup container, no
// cgroup.
func TestRunAsADockerGroupMemberEnforcesTheTaskLimits(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is not installed: berth cannot be run as an unprivileged user")
	}
	gid := dockerSocketGroup(t)
	e := newRunEnv(t)
	dir := worldWritableDir(t)
	bin := filepath.Join(dir, "berth")
	linkOrCopy(t, e.bin, bin)
	def := filepath.Join(dir, "fargate.json")
	if err := os.WriteFile(def, []byte(`{"family": "unprivileged", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
	  "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["sleep", "120"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--groups="+strconv.Itoa(gid), "--inh-caps=-all",
		bin, "run", "--cluster", e.cluster, "--launch-type", "FARGATE", def)
	cmd.Env = append(os.Environ(), "HOME="+dir, "BERTH_STATE_DIR="+filepath.Join(dir, "state"))
	out := e.start(cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out.waitFor(t, "task RUNNING")

	api := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app, err := api.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster),
		filters.Arg("label", "com.amazonaws.ecs.container-name=app"))})
	if err != nil || len(app) != 1 {
		t.Fatalf("want the app container, found %d (%v):\n%s", len(app), err, out)
	}
	taskID := filepath.Base(app[0].Labels["com.amazonaws.ecs.task-arn"])
	t.Cleanup(func() { removeTaskCgroup(t, taskID) })
	info, err := api.ContainerInspect(ctx, app[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.HostConfig.CgroupParent; got != "/ecs/"+taskID {
		t.Fatalf("the container's cgroup parent is %q, want /ecs/%s:\n%s", got, taskID, out)
	}
	memory := filepath.Join("/sys/fs/cgroup", "ecs", taskID) // cgroup v2
	limitFile := "memory.max"
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", "memory")); err == nil {
		memory = filepath.Join("/sys/fs/cgroup", "memory", "ecs", taskID)
		limitFile = "memory.limit_in_bytes"
	}
	limit, err := os.ReadFile(filepath.Join(memory, limitFile))
	if err != nil || strings.TrimSpace(string(limit)) != strconv.Itoa(512<<20) {
		t.Errorf("the task's memory limit: %q, %v; want 512 MiB", limit, err)
	}
	if _, err := os.Stat(filepath.Join(memory, app[0].ID)); err != nil {
		t.Errorf("the container is not in the task cgroup: %v", err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "task "+taskID+" stopped")
	if err := cmd.Wait(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("berth run: %v", err)
	}
	if left := taskCgroupDirs(taskID); len(left) > 0 {
		t.Errorf("the task cgroup was left: %v\n%s", left, out)
	}
	helpers, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.scope=cgroup"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range helpers {
		if strings.Contains(h.Command, taskID) {
			t.Errorf("the cgroup container %s (%s) was left", h.Names, h.Command)
		}
	}
}

// dockerSocketGroup returns the group the engine's socket belongs to, or
// skips the test when there is no such group to run berth in.
func dockerSocketGroup(t *testing.T) int {
	t.Helper()
	socket := "/var/run/docker.sock"
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		u, err := url.Parse(host)
		if err != nil || u.Scheme != "unix" {
			t.Skipf("DOCKER_HOST=%s is not a unix socket: there is no docker group to run berth in", host)
		}
		socket = u.Path
	}
	fi, err := os.Stat(socket)
	if err != nil {
		t.Skipf("the engine's socket: %v: there is no docker group to run berth in", err)
	}
	gid := int(fi.Sys().(*syscall.Stat_t).Gid)
	if gid == 0 {
		t.Skipf("%s belongs to root's group: there is no docker group to run berth in", socket)
	}
	return gid
}

// worldWritableDir is a directory any user may write, removed when the
// test ends.
func worldWritableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// linkOrCopy puts the executable from at to, which the unprivileged user
// can reach. A hard link is best: a copy is written through a descriptor
// that a process other tests fork meanwhile may hold until it execs, and
// executing the copy then fails with "text file busy".
func linkOrCopy(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Link(from, to); err == nil {
		return
	}
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}

// taskCgroupDirs lists the directories of a task's cgroup on the host,
// under cgroup v1 or v2.
func taskCgroupDirs(taskID string) []string {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "ecs", taskID))
	if v2 := filepath.Join("/sys/fs/cgroup", "ecs", taskID); len(dirs) == 0 {
		if _, err := os.Stat(v2); err == nil {
			dirs = append(dirs, v2)
		}
	}
	return dirs
}

// removeTaskCgroup removes what a failed test left of a task's cgroup,
// its containers' cgroups first.
func removeTaskCgroup(t *testing.T, taskID string) {
	for _, d := range taskCgroupDirs(taskID) {
		children, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, c := range children {
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				os.Remove(c)
			}
		}
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			t.Logf("remove cgroup %s: %v", d, err)
		}
	}
}
