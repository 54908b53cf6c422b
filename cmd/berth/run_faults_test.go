package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/testenv"
)

const sleeperDef = `{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32,
  "command": ["sleep", "600"]}]}`

// ended waits for a berth run started with e.start to end, having read
// all it printed (exec's Wait closes the pipe, so it comes after the last
// read); the wait is a guard against a hang, not a measure of speed.
func (e *runEnv) ended(cmd *exec.Cmd, w *lineWatcher) {
	e.t.Helper()
	done := make(chan struct{})
	go func() {
		for range w.lines {
			// What is left unread: w keeps it all.
		}
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		e.t.Fatalf("berth run did not end:\n%s", w)
	}
}

// A definition slow to come (a FIFO nobody writes to yet) holds nothing
// while berth waits for it: another berth run on the same state goes ahead,
// and Ctrl-C ends the waiting one at once.
func TestARunWaitingForItsDefinitionHoldsNothing(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	fifo := filepath.Join(e.dir, "slow.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	waiting := e.command(fifo)
	w := e.start(waiting)
	time.Sleep(time.Second) // let it reach the FIFO
	if out, code := e.run(e.file("job.json", jobDef)); code != 3 {
		t.Errorf("a run beside one waiting for its definition: exit %d:\n%s", code, out)
	}
	waiting.Process.Signal(syscall.SIGINT)
	e.ended(waiting, w)
	if code := waiting.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("Ctrl-C while waiting for the definition: exit %d, want %d:\n%s", code, exitInterrupted, w)
	}
}

// An engine that accepts connections and never answers does not keep
// Ctrl-C, or SIGTERM, from ending berth run.
func TestASignalEndsARunWhoseEngineNeverAnswers(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newRunEnv(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			accepted := make(chan net.Conn, 16)
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					accepted <- c // held open, never answered
				}
			}()
			cmd := e.command(e.file("job.json", jobDef))
			cmd.Env = append(cmd.Env, "DOCKER_HOST=tcp://"+l.Addr().String())
			w := e.start(cmd)
			select {
			case c := <-accepted:
				defer c.Close()
			case <-time.After(time.Minute):
				t.Fatalf("berth never asked the engine:\n%s", w)
			}
			cmd.Process.Signal(sig)
			e.ended(cmd, w)
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(w.String(), "interrupted before the task started") {
				t.Errorf("exit %d, want %d:\n%s", code, exitInterrupted, w)
			}
		})
	}
}

// SIGHUP, which a closed terminal sends, stops the task as Ctrl-C does, and
// berth removes it as usual.
func TestSIGHUPStopsTheTaskAsCtrlCDoes(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	cmd := e.command(e.file("sleeper.json", sleeperDef))
	w := e.start(cmd)
	w.waitFor(t, "task RUNNING")
	cmd.Process.Signal(syscall.SIGHUP)
	e.ended(cmd, w)
	if !strings.Contains(w.String(), "stopping the task") || !strings.Contains(w.String(), "(UserInitiated)") {
		t.Errorf("SIGHUP did not stop the task as the user's:\n%s", w)
	}
	// newRunEnv's cleanup checks that nothing is left on the engine.
}

func (e *runEnv) clusterFilter() filters.Args {
	return filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster))
}

// A run killed while its task ran leaves containers that exit later on
// their own; the next berth run removes them at once: only --keep keeps a
// task.
func TestTheNextRunRemovesTheExitedContainersOfAKilledRun(t *testing.T) {
	// Not parallel: the count of removed tasks is this test's own.
	e := newRunEnv(t)
	api := testenv.Docker(t)
	cmd := e.command(e.file("short.json", `{"family": "short", "containerDefinitions": [{"name": "job", "image": "berth/demo:latest",
	  "memory": 32, "command": ["exit", "0", "--after", "2s"]}]}`))
	w := e.start(cmd)
	w.waitFor(t, "task RUNNING")
	cmd.Process.Kill()
	cmd.Wait()
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		list, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: e.clusterFilter()})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].State == "exited" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed run's container did not exit: %+v", list)
		}
	}
	out, code := e.run(e.file("job.json", jobDef))
	if code != 3 || !strings.Contains(out, "removed 1 task left by berth run processes") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if left, _ := api.ContainerList(ctx, container.ListOptions{All: true, Filters: e.clusterFilter()}); len(left) != 0 {
		t.Errorf("%d containers of the killed run are still on the engine", len(left))
	}
}

// A run killed before its task's first container exists (here, while the
// engine pulls an image from a registry that never answers) has made the
// task's volumes already; the next berth run removes them.
func TestTheNextRunRemovesTheVolumesOfARunKilledBeforeItsFirstContainer(t *testing.T) {
	e := newRunEnv(t)
	api := testenv.Docker(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered, until the test ends
		}
	}()
	def := `{"family": "pulling", "volumes": [{"name": "scratch", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}],
	  "containerDefinitions": [{"name": "app", "image": "` + l.Addr().String() + `/never:latest", "memory": 32,
	    "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}]}]}`
	cmd := e.command(e.file("pulling.json", def))
	w := e.start(cmd)
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		vols, err := api.VolumeList(ctx, volume.ListOptions{Filters: e.clusterFilter()})
		if err != nil {
			t.Fatal(err)
		}
		if len(vols.Volumes) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run made no volume:\n%s", w)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if out, code := e.run(e.file("job.json", jobDef)); code != 3 || !strings.Contains(out, "removed 1 task left by berth run processes") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if vols, _ := api.VolumeList(ctx, volume.ListOptions{Filters: e.clusterFilter()}); len(vols.Volumes) != 0 {
		t.Errorf("the killed run's volumes are still on the engine: %d", len(vols.Volumes))
	}
}

// An essential container removed from the engine while it runs stops the
// task, and berth run says so: the task ran, so this is no failure to
// start.
func TestARemovedEssentialContainerEndsTheRunAsKilled(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	api := testenv.Docker(t)
	cmd := e.command(e.file("sleeper.json", sleeperDef))
	w := e.start(cmd)
	w.waitFor(t, "task RUNNING")
	list, err := api.ContainerList(context.Background(), container.ListOptions{Filters: e.clusterFilter()})
	if err != nil || len(list) != 1 {
		t.Fatalf("the task's container: %v, %d found", err, len(list))
	}
	if err := api.ContainerRemove(context.Background(), list[0].ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	e.ended(cmd, w)
	if code := cmd.ProcessState.ExitCode(); code != exitVanished || !strings.Contains(w.String(), "app stopped with no exit code (ContainerVanishedError") {
		t.Errorf("exit %d, want %d:\n%s", code, exitVanished, w)
	}
}

// What berth run says when it cannot begin: each names the thing and what
// to do, and an unreachable engine is said first.
func TestRunSaysWhatKeepsItFromStarting(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	job := e.file("job.json", jobDef)

	corrupt := t.TempDir()
	if err := os.WriteFile(filepath.Join(corrupt, "state.db"), []byte(strings.Repeat("not a bbolt file ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(e.dir, "loop") // no .json: a name that could be a family
	if err := os.Symlink(loop+".other", loop); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loop, loop+".other"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		says []string
	}{
		{"a corrupt state file", []string{"BERTH_STATE_DIR=" + corrupt}, []string{job}, exitTaskFailedToStart,
			[]string{filepath.Join(corrupt, "state.db") + " cannot be read", "mv " + filepath.Join(corrupt, "state.db") + " "}},
		{"a symlink loop", nil, []string{loop}, exitUsage, []string{"loop: cannot read: too many levels of symbolic links"}},
		{"an engine that is not there", []string{"DOCKER_HOST=unix://" + filepath.Join(e.dir, "no-engine.sock")}, []string{job}, exitTaskFailedToStart,
			[]string{"berth: cannot reach the Docker engine at unix://" + filepath.Join(e.dir, "no-engine.sock")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := e.command(tt.args...)
			cmd.Env = append(cmd.Env, tt.env...)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			for _, want := range tt.says {
				if !strings.Contains(string(out), want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "warning") {
				t.Errorf("a warning comes before what is wrong:\n%s", out)
			}
		})
	}
}
