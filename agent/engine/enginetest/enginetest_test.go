package enginetest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/images"
)

// testTimeout guards every wait against a hang; it is not a measure of
// speed.
const testTimeout = time.Minute

const app = "example/app:1"

func newEngine(t *testing.T) (*enginetest.Engine, *clock.Manual) {
	t.Helper()
	c := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	e := enginetest.New(c)
	e.AddImage(app, map[string]string{"from": "image"})
	return e, c
}

func create(t *testing.T, e *enginetest.Engine, name string, labels map[string]string) string {
	t.Helper()
	created, err := e.ContainerCreate(context.Background(), &container.Config{Image: app, Labels: labels}, nil, nil, nil, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return created.ID
}

func inspect(t *testing.T, e *enginetest.Engine, id string) *container.State {
	t.Helper()
	info, err := e.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return info.State
}

func TestAContainerGoesFromCreatedToRunningToExited(t *testing.T) {
	e, clk := newEngine(t)
	ctx := context.Background()
	id := create(t, e, "web", map[string]string{"app": "web"})
	if s := inspect(t, e, id); s.Status != container.StateCreated || s.Running || !strings.HasPrefix(s.StartedAt, "0001-01-01") {
		t.Fatalf("created: %+v", s)
	}
	if err := e.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	s := inspect(t, e, id)
	if s.Status != container.StateRunning || !s.Running || s.StartedAt != clk.Now().Format(time.RFC3339Nano) {
		t.Fatalf("started: %+v", s)
	}
	clk.Advance(time.Second)
	if err := e.Exit(id, 3); err != nil {
		t.Fatalf("exit: %v", err)
	}
	s = inspect(t, e, id)
	if s.Status != container.StateExited || s.Running || s.ExitCode != 3 || s.FinishedAt != clk.Now().Format(time.RFC3339Nano) {
		t.Fatalf("exited: %+v", s)
	}
	info, _ := e.ContainerInspect(ctx, "web")
	if info.ID != id || info.Name != "/web" || info.Config.Labels["app"] != "web" || info.Config.Labels["from"] != "image" {
		t.Errorf("inspect by name: %s %s %v", info.ID, info.Name, info.Config.Labels)
	}
	if err := e.ContainerRemove(ctx, id, container.RemoveOptions{}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := e.ContainerInspect(ctx, id); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: %v, want NotFound", err)
	}
}

func TestStopsAndKillsEndAProcessWithDockersExitCodes(t *testing.T) {
	ctx := context.Background()
	zero, five := 0, 5
	tests := []struct {
		name    string
		program enginetest.Program
		end     func(e *enginetest.Engine, clk *clock.Manual, id string) error
		want    int
	}{
		{"a stop ends a process that honours SIGTERM with 143", enginetest.Program{}, func(e *enginetest.Engine, _ *clock.Manual, id string) error {
			return e.ContainerStop(ctx, id, container.StopOptions{Timeout: &five})
		}, 143},
		{"a stop kills a process that ignores SIGTERM after its timeout with 137", enginetest.Program{IgnoresSIGTERM: true}, func(e *enginetest.Engine, clk *clock.Manual, id string) error {
			done := make(chan error, 1)
			go func() { done <- e.ContainerStop(ctx, id, container.StopOptions{Timeout: &five}) }()
			waitForTimer(t, clk)
			clk.Advance(4 * time.Second)
			select {
			case err := <-done:
				t.Errorf("the stop returned (%v) before its timeout", err)
			default:
			}
			clk.Advance(time.Second)
			return <-done
		}, 137},
		{"a stop with no time kills at once", enginetest.Program{IgnoresSIGTERM: true}, func(e *enginetest.Engine, _ *clock.Manual, id string) error {
			return e.ContainerStop(ctx, id, container.StopOptions{Timeout: &zero})
		}, 137},
		{"a kill ends a process with 137", enginetest.Program{}, func(e *enginetest.Engine, _ *clock.Manual, id string) error {
			return e.ContainerKill(ctx, id, "KILL")
		}, 137},
		{"a process that exits at once has the code the test chose", enginetest.Program{ExitsAtOnce: true, ExitCode: 42}, func(*enginetest.Engine, *clock.Manual, string) error {
			return nil
		}, 42},
		{"a process killed for memory has 137 and OOMKilled", enginetest.Program{}, func(e *enginetest.Engine, _ *clock.Manual, id string) error {
			return e.OOM(id)
		}, 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newEngine(t)
			e.SetProgram(app, tt.program)
			id := create(t, e, "c", nil)
			if err := e.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
				t.Fatalf("start: %v", err)
			}
			if err := tt.end(e, clk, id); err != nil {
				t.Fatalf("end: %v", err)
			}
			if s := inspect(t, e, id); s.Status != container.StateExited || s.ExitCode != tt.want {
				t.Errorf("state %s exit code %d, want exited %d", s.Status, s.ExitCode, tt.want)
			}
		})
	}
}

func TestCallsOnContainersInTheWrongStateAnswerAsDockerDoes(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	id := create(t, e, "c", nil)
	if err := e.ContainerKill(ctx, id, "KILL"); !cerrdefs.IsConflict(err) {
		t.Errorf("kill of a created container: %v, want Conflict", err)
	}
	if err := e.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
		t.Errorf("stop of a created container: %v, want nil", err)
	}
	_ = e.ContainerStart(ctx, id, container.StartOptions{})
	if err := e.ContainerRemove(ctx, id, container.RemoveOptions{}); !cerrdefs.IsConflict(err) {
		t.Errorf("remove of a running container: %v, want Conflict", err)
	}
	if _, err := e.ContainerCreate(ctx, &container.Config{Image: app}, nil, nil, nil, "c"); !cerrdefs.IsConflict(err) {
		t.Errorf("create of a name in use: %v, want Conflict", err)
	}
	if _, err := e.ContainerCreate(ctx, &container.Config{Image: "absent:1"}, nil, nil, nil, ""); !cerrdefs.IsNotFound(err) {
		t.Errorf("create of an absent image: %v, want NotFound", err)
	}
	if err := e.ContainerStart(ctx, "nothing", container.StartOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("start of no container: %v, want NotFound", err)
	}
}

func TestEventsCarryTheContainersLabelsAndTheirOwnAttributes(t *testing.T) {
	e, _ := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	msgs, errs := e.Events(ctx, events.ListOptions{Since: "0", Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("label", "mine=yes"))})
	other := create(t, e, "other", nil)
	id := create(t, e, "c", map[string]string{"mine": "yes"})
	_ = e.ContainerStart(ctx, other, container.StartOptions{})
	hc := &container.HealthConfig{Test: []string{"CMD", "true"}}
	checked, err := e.ContainerCreate(ctx, &container.Config{Image: app, Labels: map[string]string{"mine": "yes"}, Healthcheck: hc}, nil, nil, nil, "checked")
	if err != nil {
		t.Fatal(err)
	}
	_ = e.ContainerStart(ctx, checked.ID, container.StartOptions{})
	_ = e.SetHealth(checked.ID, container.Healthy)
	_ = e.ContainerStart(ctx, id, container.StartOptions{})
	_ = e.OOM(id)
	_ = e.ContainerRemove(ctx, id, container.RemoveOptions{})

	want := []struct {
		id     string
		action string
		attr   string
	}{
		{id, "create", ""},
		{checked.ID, "create", ""},
		{checked.ID, "start", ""},
		{checked.ID, "exec_die", "exitCode=0"},
		{checked.ID, "health_status: healthy", ""},
		{id, "start", ""},
		{id, "oom", ""},
		{id, "die", "exitCode=137"},
		{id, "destroy", ""},
	}
	for i, w := range want {
		select {
		case m := <-msgs:
			if m.Actor.ID != w.id || string(m.Action) != w.action || m.Actor.Attributes["mine"] != "yes" {
				t.Fatalf("event %d: %s %s %v, want %s on %s", i, m.Action, m.Actor.ID[:12], m.Actor.Attributes, w.action, w.id[:12])
			}
			if k, v, ok := strings.Cut(w.attr, "="); ok && m.Actor.Attributes[k] != v {
				t.Errorf("event %d (%s): %s=%q, want %q", i, m.Action, k, m.Actor.Attributes[k], v)
			}
		case err := <-errs:
			t.Fatalf("events: %v", err)
		case <-ctx.Done():
			t.Fatalf("event %d (%s) never came", i, w.action)
		}
	}
	// A later subscription from the start gets the same events again.
	again, _ := e.Events(ctx, events.ListOptions{Since: "0", Filters: filters.NewArgs(filters.Arg("label", "mine=yes"))})
	if m := <-again; m.Actor.ID != id || m.Action != events.ActionCreate {
		t.Errorf("replayed first event: %s on %s", m.Action, m.Actor.ID)
	}
}

func TestDroppedEventsAreNeverSent(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	e.DropEvents(true)
	create(t, e, "lost", nil)
	e.DropEvents(false)
	create(t, e, "sent", nil)
	msgs, _ := e.Events(ctx, events.ListOptions{Since: "0"})
	if m := <-msgs; m.Actor.Attributes["name"] != "sent" {
		t.Errorf("first event is about %s, want the container created once events were sent again", m.Actor.Attributes["name"])
	}
}

func TestNetworksGiveAddressesFromTheirSubnet(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	created, err := e.NetworkCreate(ctx, "tasks", network.CreateOptions{IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "10.9.0.0/16"}}}})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	if _, err := e.NetworkCreate(ctx, "again", network.CreateOptions{IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "10.9.1.0/24"}}}}); err == nil {
		t.Error("an overlapping subnet was accepted")
	}
	a, _ := e.ContainerCreate(ctx, &container.Config{Image: app}, &container.HostConfig{NetworkMode: "tasks"}, nil, nil, "a")
	b := create(t, e, "b", nil) // on the default bridge
	if err := e.NetworkConnect(ctx, "tasks", b, &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.9.0.77"}}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	info, _ := e.ContainerInspect(ctx, a.ID)
	if got := info.NetworkSettings.Networks["tasks"].IPAddress; got != "10.9.0.2" {
		t.Errorf("first address %q, want 10.9.0.2", got)
	}
	info, _ = e.ContainerInspect(ctx, b)
	if got := info.NetworkSettings.Networks["bridge"].IPAddress; got != "172.17.0.2" {
		t.Errorf("bridge address %q, want 172.17.0.2", got)
	}
	nw, _ := e.NetworkInspect(ctx, created.ID, network.InspectOptions{})
	if got := nw.Containers[b].IPv4Address; got != "10.9.0.77/16" || len(nw.Containers) != 2 || nw.IPAM.Config[0].Gateway != "10.9.0.1" {
		t.Errorf("network: %+v", nw)
	}
	if err := e.NetworkRemove(ctx, "tasks"); !cerrdefs.IsConflict(err) {
		t.Errorf("remove of a network in use: %v, want Conflict", err)
	}
	_ = e.ContainerRemove(ctx, a.ID, container.RemoveOptions{Force: true})
	_ = e.NetworkDisconnect(ctx, "tasks", b, true)
	if err := e.NetworkRemove(ctx, "tasks"); err != nil {
		t.Errorf("remove of an unused network: %v", err)
	}
}

func TestVolumesInUseStay(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	if _, err := e.VolumeCreate(ctx, volume.CreateOptions{Name: "data", Labels: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ContainerCreate(ctx, &container.Config{Image: app}, &container.HostConfig{Binds: []string{"data:/data"}}, nil, nil, "user"); err != nil {
		t.Fatal(err)
	}
	list, _ := e.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "k=v"))})
	if len(list.Volumes) != 1 || list.Volumes[0].Name != "data" {
		t.Errorf("list: %+v", list.Volumes)
	}
	if err := e.VolumeRemove(ctx, "data", true); !cerrdefs.IsConflict(err) {
		t.Errorf("remove of a volume in use: %v, want Conflict", err)
	}
	_ = e.ContainerRemove(ctx, "user", container.RemoveOptions{})
	if err := e.VolumeRemove(ctx, "data", false); err != nil {
		t.Errorf("remove: %v", err)
	}
	if _, err := e.VolumeInspect(ctx, "data"); !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: %v, want NotFound", err)
	}
}

func TestImagesArePulledOnlyWhenPublished(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	if _, err := e.ImagePull(ctx, "busybox", image.PullOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("pull of an unpublished image: %v, want NotFound", err)
	}
	e.Publish("busybox", nil)
	body, err := e.ImagePull(ctx, "busybox", image.PullOptions{})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	body.Close()
	if _, err := e.ImageInspect(ctx, "docker.io/library/busybox:latest"); err != nil {
		t.Errorf("inspect of the pulled image: %v", err)
	}
}

// The images package builds berth's own images on the engine as on
// Docker: an archive loaded, labelled with the binary's digest.
func TestBerthsImagesBuildOnTheEngine(t *testing.T) {
	e, _ := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	binary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := images.Ensure(ctx, e, binary, images.PauseRef); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	infos, err := images.ListFrom(ctx, e, binary)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, info := range infos {
		if stale := info.Ref != images.PauseRef; info.Stale() != stale {
			t.Errorf("%s is %s", info.Ref, info.Status)
		}
	}
	loads := e.Calls("ImageLoad")
	if err := images.Ensure(ctx, e, binary, images.PauseRef); err != nil || e.Calls("ImageLoad") != loads {
		t.Errorf("a second ensure loaded again (%v)", err)
	}
}

func TestFaultsHangOrFailTheCallsTheyAreInjectedInto(t *testing.T) {
	e, _ := newEngine(t)
	id := create(t, e, "c", nil)
	hang, hanging := enginetest.Hanging()
	e.Inject("ContainerStart", enginetest.Only(id, hang))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ContainerStart(ctx, id, container.StartOptions{}) }()
	if got := <-hanging; got != id {
		t.Errorf("hanging on %q, want %q", got, id)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hung start ended with %v, want its context's end", err)
	}
	if s := inspect(t, e, id); s.Status != container.StateCreated {
		t.Errorf("a start that hung started the container: %s", s.Status)
	}

	boom := errors.New("boom")
	e.Inject("ContainerInspect", enginetest.Fail(boom))
	if _, err := e.ContainerInspect(context.Background(), id); !errors.Is(err, boom) {
		t.Errorf("inspect: %v, want the injected error", err)
	}
	e.Inject("ContainerInspect", nil)
	if _, err := e.ContainerInspect(context.Background(), id); err != nil {
		t.Errorf("inspect after the fault was removed: %v", err)
	}
}

// waitForTimer waits until some call has set a timer on clk.
func waitForTimer(t *testing.T, clk *clock.Manual) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		set := clk.TimerSet()
		if clk.Timers() > 0 {
			return
		}
		select {
		case <-set:
		case <-deadline:
			t.Fatal("no timer was ever set")
		}
	}
}
