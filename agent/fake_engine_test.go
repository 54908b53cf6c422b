package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine/enginetest"
)

// The tests of this file run the agent over the engine in memory
// (enginetest) on a clock they move by hand: the gates, conditions and
// stop ordering of the agent, with no Docker engine and no sleeping.

// Images of the engine in memory, each a program.
const (
	appImage      = "example/app:1"      // honours SIGTERM
	stubbornImage = "example/stubborn:1" // ignores SIGTERM
)

type fakeEnv struct {
	t      *testing.T
	engine *enginetest.Engine
	clock  *clock.Manual
	agent  *agent.Agent
	events *recorder
}

func newFakeEnv(t *testing.T, configure ...func(*agent.Config)) *fakeEnv {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	eng := enginetest.New(clk)
	eng.AddImage(appImage, nil)
	eng.AddImage(stubbornImage, nil)
	eng.SetProgram(stubbornImage, enginetest.Program{IgnoresSIGTERM: true})
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.Config{
		Docker:             eng,
		Clock:              clk,
		Cluster:            "fake",
		BinaryPath:         bin,
		CgroupRoot:         t.TempDir(),
		CleanupWait:        time.Hour,
		PullBehavior:       agent.PullPreferCached,
		NoMetadataEndpoint: true,
		Logf:               t.Logf,
	}
	for _, f := range configure {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	a, err := agent.New(ctx, cfg)
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	f := &fakeEnv{t: t, engine: eng, clock: clk, agent: a, events: newRecorder()}
	f.events.follow(a)
	t.Cleanup(func() { a.Close() })
	return f
}

func (f *fakeEnv) run(def string) string {
	f.t.Helper()
	st, err := f.agent.StartTask(context.Background(), agent.TaskSpec{Task: load(f.t, def)})
	if err != nil {
		f.t.Fatalf("start task: %v", err)
	}
	return st.ARN
}

// waitFor waits, without moving the clock, for the first state of the
// task that satisfies ok.
func (f *fakeEnv) waitFor(arn, what string, ok func(agent.TaskState) bool) agent.TaskState {
	f.t.Helper()
	st, found := f.events.wait(arn, ok, testTimeout)
	if !found {
		last, _ := f.events.last(arn)
		f.t.Fatalf("task never reached %s; last state: %s", what, describe(last))
	}
	return st
}

// advanceUntil moves the clock on a second at a time until the task
// reaches a state that satisfies ok.
func (f *fakeEnv) advanceUntil(arn, what string, ok func(agent.TaskState) bool) agent.TaskState {
	f.t.Helper()
	guard := time.Now().Add(testTimeout)
	for time.Now().Before(guard) {
		if st, found := f.events.wait(arn, ok, 5*time.Millisecond); found {
			return st
		}
		f.clock.Advance(time.Second)
	}
	last, _ := f.events.last(arn)
	f.t.Fatalf("task never reached %s; last state: %s", what, describe(last))
	return agent.TaskState{}
}

// waitTimers waits until n timers are set on the clock, so that moving
// it passes all of them.
func (f *fakeEnv) waitTimers(n int) {
	f.t.Helper()
	guard := time.After(testTimeout)
	for {
		set := f.clock.TimerSet()
		if f.clock.Timers() >= n {
			return
		}
		select {
		case <-set:
		case <-guard:
			f.t.Fatalf("%d timers set, never %d", f.clock.Timers(), n)
		}
	}
}

func (f *fakeEnv) stopped(arn string) agent.TaskState {
	f.t.Helper()
	return f.waitFor(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
}

// containerRunning waits for the container to run and returns its ID.
func (f *fakeEnv) containerRunning(arn, name string) string {
	f.t.Helper()
	st := f.waitFor(arn, name+" RUNNING", func(s agent.TaskState) bool {
		c, _ := s.Container(name)
		return c.LastStatus == agent.ContainerRunning
	})
	return ctrOf(f.t, st, name).DockerID
}

// engineEvents lists the engine's events on the task's containers as
// "container action", in order, leaving out the ones in skip.
func (f *fakeEnv) engineEvents(skip ...events.Action) []string {
	var out []string
	for _, m := range f.engine.EventLog() {
		if !containsAction(skip, m.Action) {
			out = append(out, m.Actor.Attributes[agent.LabelContainerName]+" "+string(m.Action))
		}
	}
	return out
}

func containsAction(list []events.Action, a events.Action) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// before reports whether a comes before b in list.
func before(list []string, a, b string) bool {
	ia, ib := -1, -1
	for i, s := range list {
		if s == a && ia < 0 {
			ia = i
		}
		if s == b && ib < 0 {
			ib = i
		}
	}
	return ia >= 0 && ib >= 0 && ia < ib
}

func TestATaskStopsWithTheExitCodeItsStopGives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		image     string
		wantExit  int
		wantDelay time.Duration // of the engine's clock, from STOPPING to the exit
	}{
		{"a container that honours SIGTERM exits with 143 at once", appImage, 143, 0},
		{"a container that ignores SIGTERM is killed with 137 after its stopTimeout", stubbornImage, 137, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t)
			arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + tt.image + `","memory":64,"stopTimeout":30}]}`)
			f.waitFor(arn, "RUNNING", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskRunning })
			if err := f.agent.StopTask(context.Background(), arn, "", ""); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if tt.wantDelay > 0 {
				// The task's own timer, and the stop's.
				f.waitTimers(2)
			}
			st := f.advanceUntil(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
			app := ctrOf(t, st, "app")
			if st.StopCode != agent.StopUserInitiated || exitCode(app) != fmt.Sprint(tt.wantExit) {
				t.Fatalf("stopped: %s; want exit %d", describe(st), tt.wantExit)
			}
			if delay := app.FinishedAt.Sub(st.StoppingAt); delay != tt.wantDelay {
				t.Errorf("the container exited %s after the stop began, want %s", delay, tt.wantDelay)
			}
		})
	}
}

func TestAnEssentialContainersOwnExitStopsTheTask(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	id := f.containerRunning(arn, "app")
	if err := f.engine.Exit(id, 3); err != nil {
		t.Fatal(err)
	}
	st := f.stopped(arn)
	if st.StopCode != agent.StopEssentialContainerExited || exitCode(ctrOf(t, st, "app")) != "3" {
		t.Errorf("stopped: %s", describe(st))
	}
}

// dependent is a task whose app depends on dep with condition; dep is not
// essential and has a health check and a startTimeout of 10 s.
func dependent(condition string) string {
	return `{"family":"gates","containerDefinitions":[
	{"name":"dep","image":"` + appImage + `","memory":64,"essential":false,"startTimeout":10,
	 "healthCheck":{"command":["CMD","true"],"interval":5,"timeout":2,"retries":1}},
	{"name":"app","image":"` + appImage + `","memory":64,"dependsOn":[{"containerName":"dep","condition":"` + condition + `"}]}]}`
}

func TestDependsOnConditionsGateTheStartOfTheirDependant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		condition string
		// act makes dep meet its condition (or not) once it runs, and
		// names the engine event app's start must follow.
		act   func(f *fakeEnv, id string) string
		start bool // whether app starts
		// reason is what app's reason holds when it cannot start.
		reason string
	}{
		{"START", func(*fakeEnv, string) string { return "dep start" }, true, ""},
		{"COMPLETE", func(f *fakeEnv, id string) string {
			_ = f.engine.Exit(id, 1)
			return "dep die"
		}, true, ""},
		{"SUCCESS", func(f *fakeEnv, id string) string {
			_ = f.engine.Exit(id, 0)
			return "dep die"
		}, true, ""},
		{"SUCCESS", func(f *fakeEnv, id string) string {
			_ = f.engine.Exit(id, 1)
			return ""
		}, false, "did not exit successfully (exit code 1)"},
		{"HEALTHY", func(f *fakeEnv, id string) string {
			_ = f.engine.SetHealth(id, container.Healthy)
			return "dep health_status: healthy"
		}, true, ""},
		{"HEALTHY", func(f *fakeEnv, id string) string {
			_ = f.engine.SetHealth(id, container.Unhealthy)
			return ""
		}, false, "has timed out: dep did not reach HEALTHY within its startTimeout of 10s"},
		{"HEALTHY", func(f *fakeEnv, id string) string {
			_ = f.engine.Exit(id, 0)
			return ""
		}, false, "exited before it was healthy"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s starts its dependant only once met", tt.condition)
		if !tt.start {
			name = fmt.Sprintf("%s that is never met stops its dependant unstarted: %s", tt.condition, tt.reason)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t)
			arn := f.run(dependent(tt.condition))
			id := f.containerRunning(arn, "dep")
			after := tt.act(f, id)
			if tt.start {
				f.containerRunning(arn, "app")
				if got := f.engineEvents(events.ActionCreate); !before(got, after, "app start") {
					t.Errorf("app did not start after %q: %q", after, got)
				}
				return
			}
			st := f.advanceUntil(arn, "app STOPPED", func(s agent.TaskState) bool {
				c, _ := s.Container("app")
				return c.LastStatus == agent.ContainerStopped
			})
			app := ctrOf(t, st, "app")
			if !strings.Contains(app.Reason, string(agent.CannotStartContainerError)) || !strings.Contains(app.Reason, tt.reason) || exitCode(app) != "143" {
				t.Errorf("app: %s", describe(st))
			}
			if f.engine.Calls("ContainerStart") != 1 {
				t.Errorf("%d starts, want dep's alone", f.engine.Calls("ContainerStart"))
			}
		})
	}
}

func TestContainersStopInReverseDependsOnOrder(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"chain","containerDefinitions":[
		{"name":"db","image":"` + stubbornImage + `","memory":64,"stopTimeout":20},
		{"name":"api","image":"` + stubbornImage + `","memory":64,"stopTimeout":20,"dependsOn":[{"containerName":"db","condition":"START"}]},
		{"name":"web","image":"` + appImage + `","memory":64,"dependsOn":[{"containerName":"api","condition":"START"}]}]}`)
	f.waitFor(arn, "RUNNING", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskRunning })
	if err := f.agent.StopTask(context.Background(), arn, "", ""); err != nil {
		t.Fatal(err)
	}
	st := f.advanceUntil(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
	got := f.engineEvents(events.ActionCreate, events.ActionStart)
	want := []string{"web kill", "web die", "web stop", "api kill", "api kill", "api die", "api stop", "db kill", "db kill", "db die", "db stop"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("engine events:\n got %q\nwant %q", got, want)
	}
	for name, code := range map[string]string{"web": "143", "api": "137", "db": "137"} {
		if got := exitCode(ctrOf(t, st, name)); got != code {
			t.Errorf("%s exited %s, want %s", name, got, code)
		}
	}
}

// A container removed under its running task stops it as vanished, with
// no exit code, whichever of its die's inspect and its destroy the task
// sees first.
func TestAContainerRemovedUnderItsTaskVanishes(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	id := f.containerRunning(arn, "app")
	if err := f.engine.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	st := f.stopped(arn)
	if app := ctrOf(t, st, "app"); app.ExitCode != nil || !strings.HasPrefix(app.Reason, string(agent.ContainerVanishedError)) {
		t.Errorf("stopped: %s", describe(st))
	}
}

// An exit whose event the engine's stream lost is found by the task's
// periodic resync.
func TestAPeriodicResyncFindsAnExitWhoseEventWasLost(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, func(c *agent.Config) { c.ResyncInterval = 30 * time.Second })
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	id := f.containerRunning(arn, "app")
	f.engine.DropEvents(true)
	if err := f.engine.Exit(id, 5); err != nil {
		t.Fatal(err)
	}
	f.engine.DropEvents(false)
	st := f.advanceUntil(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
	if st.StopCode != agent.StopEssentialContainerExited || exitCode(ctrOf(t, st, "app")) != "5" {
		t.Errorf("stopped: %s", describe(st))
	}
}

// A stop is honoured whichever engine call hangs when it comes: the create
// (the start's context ends), the start and an inspect (made off the
// task's goroutine, so it goes on with the stop).
func TestAStopDuringAHungEngineCallIsHonoured(t *testing.T) {
	t.Parallel()
	const def = `{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64,
		"healthCheck":{"command":["CMD","true"],"interval":5,"timeout":2,"retries":1}}]}`
	tests := []struct {
		call string
		// hangWhen makes the call hang, once the task is as far as it
		// needs, and returns once the call hangs.
		hangWhen func(f *fakeEnv, arn string, fault enginetest.Fault)
	}{
		{"ContainerCreate", func(f *fakeEnv, _ string, fault enginetest.Fault) {}},
		{"ContainerStart", func(f *fakeEnv, _ string, fault enginetest.Fault) {}},
		{"ContainerInspect", func(f *fakeEnv, arn string, fault enginetest.Fault) {
			id := f.containerRunning(arn, "app")
			f.engine.Inject("ContainerInspect", once(fault))
			_ = f.engine.SetHealth(id, container.Healthy) // an exec_die to inspect
		}},
	}
	for _, tt := range tests {
		t.Run("hung in "+tt.call, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t)
			hang, hanging := enginetest.Hanging()
			if tt.call != "ContainerInspect" {
				f.engine.Inject(tt.call, hang)
			}
			arn := f.run(def)
			tt.hangWhen(f, arn, hang)
			<-hanging
			if err := f.agent.StopTask(context.Background(), arn, "", ""); err != nil {
				t.Fatal(err)
			}
			st := f.stopped(arn)
			if st.StopCode != agent.StopUserInitiated || ctrOf(t, st, "app").LastStatus != agent.ContainerStopped {
				t.Errorf("stopped: %s", describe(st))
			}
		})
	}
}

// A SIGKILL the engine does not answer holds up its container, not the
// task: it goes on to STOPPING.
func TestAHungKillDoesNotHoldTheTask(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	f.containerRunning(arn, "app")
	hang, hanging := enginetest.Hanging()
	f.engine.Inject("ContainerKill", hang)
	if err := f.agent.KillTask(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	<-hanging
	f.waitFor(arn, "STOPPING", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopping })
}

// once is f for the first call alone.
func once(f enginetest.Fault) enginetest.Fault {
	var done atomic.Bool
	return func(ctx context.Context, target string) error {
		if done.CompareAndSwap(false, true) {
			return f(ctx, target)
		}
		return nil
	}
}

// KillTask sends SIGKILL even to a container whose gentle stop is under
// way, without waiting for that stop.
func TestKillTaskDoesNotWaitForAStopUnderWay(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + stubbornImage + `","memory":64,"stopTimeout":120}]}`)
	f.containerRunning(arn, "app")
	if err := f.agent.StopTask(context.Background(), arn, "", ""); err != nil {
		t.Fatal(err)
	}
	f.waitTimers(2) // the stop waits out its 120 s
	if err := f.agent.KillTask(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	st := f.stopped(arn)
	if app := ctrOf(t, st, "app"); exitCode(app) != "137" || !app.FinishedAt.Equal(st.StoppingAt) {
		t.Errorf("stopped: %s, the container finished %s after the stop", describe(st), app.FinishedAt.Sub(st.StoppingAt))
	}
}

// A die the agent cannot confirm with an inspect (the engine refuses it)
// still ends the container, with the exit code the event carries.
func TestADieWhoseInspectFailsRecordsTheEventsExitCode(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	id := f.containerRunning(arn, "app")
	f.engine.Inject("ContainerInspect", enginetest.Fail(errors.New("engine overloaded")))
	if err := f.engine.Exit(id, 7); err != nil {
		t.Fatal(err)
	}
	st := f.stopped(arn)
	if app := ctrOf(t, st, "app"); exitCode(app) != "7" || st.StopCode != agent.StopEssentialContainerExited {
		t.Errorf("stopped: %s", describe(st))
	}
}

// The agent's own cost of a task's whole life, over an engine that costs
// nothing: accepted, its container created and started, RUNNING, stopped,
// STOPPED and cleaned up, one task after another (size: its containers).
func BenchmarkATasksLifeOverTheEngineInMemory(b *testing.B) {
	for _, containers := range []int{1, 10} {
		b.Run(fmt.Sprintf("containers=%d", containers), func(b *testing.B) {
			eng := enginetest.New(nil)
			eng.AddImage(appImage, nil)
			bin, err := os.Executable()
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			a, err := agent.New(ctx, agent.Config{Docker: eng, Cluster: "bench", BinaryPath: bin, CgroupRoot: b.TempDir(),
				CleanupWait: time.Nanosecond, PullBehavior: agent.PullPreferCached, NoMetadataEndpoint: true})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			var defs []string
			for i := range containers {
				defs = append(defs, fmt.Sprintf(`{"name":"c%d","image":"%s","memory":64}`, i, appImage))
			}
			task := load(b, `{"family":"bench","containerDefinitions":[`+strings.Join(defs, ",")+`]}`)
			b.ResetTimer()
			for b.Loop() {
				st, err := a.StartTask(ctx, agent.TaskSpec{Task: task})
				if err != nil {
					b.Fatal(err)
				}
				if s, err := a.Wait(ctx, st.ARN, agent.TaskRunning); err != nil || s.LastStatus != agent.TaskRunning {
					b.Fatalf("never RUNNING (%v): %s", err, describe(s))
				}
				if err := a.StopTask(ctx, st.ARN, "", ""); err != nil {
					b.Fatal(err)
				}
				// A task cleaned up before the wait began is no longer found.
				if _, err := a.Wait(ctx, st.ARN, agent.TaskDeleted); err != nil && !errors.Is(err, agent.ErrTaskNotFound) {
					b.Fatal(err)
				}
			}
		})
	}
}

// The engine may tell of an out-of-memory kill after the death it caused:
// the container's reason is OutOfMemoryError all the same.
func TestAnOOMEventAfterTheDeathStillGivesTheReason(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	arn := f.run(`{"family":"one","containerDefinitions":[{"name":"hog","image":"` + appImage + `","memory":16}]}`)
	id := f.containerRunning(arn, "hog")
	if err := f.engine.LateOOM(id); err != nil {
		t.Fatal(err)
	}
	st := f.waitFor(arn, "the OOM reason", func(s agent.TaskState) bool {
		c, _ := s.Container("hog")
		return c.Reason != ""
	})
	if hog := ctrOf(t, st, "hog"); hog.Reason != "OutOfMemoryError: Container killed due to memory usage" || exitCode(hog) != "137" {
		t.Errorf("hog: %s", describe(st))
	}
}

// A stop with a deadline (a Spot reclaim's warning) gives each container
// SIGTERM in the usual order, but no stopTimeout outlasts the deadline: the
// containers that ignore SIGTERM are killed when it is up, 20 s in, not
// after their 120 s each, one after the other.
func TestAStopWithinADeadlineKillsWhatOutlastsIt(t *testing.T) {
	t.Parallel()
	const within = 20 * time.Second
	f := newFakeEnv(t)
	arn := f.run(`{"family":"chain","containerDefinitions":[
		{"name":"db","image":"` + stubbornImage + `","memory":64,"stopTimeout":120},
		{"name":"api","image":"` + stubbornImage + `","memory":64,"stopTimeout":120,"dependsOn":[{"containerName":"db","condition":"START"}]},
		{"name":"web","image":"` + appImage + `","memory":64,"dependsOn":[{"containerName":"api","condition":"START"}]}]}`)
	f.waitFor(arn, "RUNNING", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskRunning })
	if err := f.agent.StopTaskWithin(context.Background(), arn, "Your Spot Task was interrupted.", agent.StopSpotInterruption, within); err != nil {
		t.Fatal(err)
	}
	st := f.advanceUntil(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
	if st.StopCode != agent.StopSpotInterruption || st.StoppedReason != "Your Spot Task was interrupted." {
		t.Errorf("stopped: %s", describe(st))
	}
	for name, code := range map[string]string{"web": "143", "api": "137", "db": "137"} {
		c := ctrOf(t, st, name)
		if got := exitCode(c); got != code {
			t.Errorf("%s exited %s, want %s", name, got, code)
		}
		if after := c.FinishedAt.Sub(st.StoppingAt); after > within {
			t.Errorf("%s exited %s after the stop began, past the %s deadline", name, after, within)
		}
	}
	// web was asked first, as in any stop: SIGTERM reached the containers
	// in reverse dependsOn order.
	if got := f.engineEvents(events.ActionCreate, events.ActionStart); !before(got, "web die", "api die") || !before(got, "api kill", "db kill") {
		t.Errorf("engine events: %q", got)
	}
	if err := f.agent.StopTaskWithin(context.Background(), arn, "", agent.StopSpotInterruption, 0); err == nil {
		t.Error("a deadline of 0 was taken")
	}
}
