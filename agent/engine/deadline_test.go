package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent/engine"
)

// testTimeout bounds every wait of the tests; it is a guard against a
// hang, not a measure of speed.
const testTimeout = 2 * time.Minute

// silentEngine is an engine that takes connections and never answers:
// what hung berth for eleven minutes. It is closed when the test ends.
func silentEngine(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go io.Copy(io.Discard, conn) // read the request, answer nothing
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "tcp://" + l.Addr().String()
}

// Each call berth makes to the engine has a deadline: against an engine
// that never answers, each returns an error that names the call and its
// deadline, whether the client has a fixed API version or negotiates it
// (the negotiation's ping is bounded too). Streams are bounded until the
// engine answers them.
func TestEveryEngineCallEndsAtItsDeadlineWhenTheEngineNeverAnswers(t *testing.T) {
	t.Parallel()
	d := engine.Deadlines{
		Query:      50 * time.Millisecond,
		Change:     60 * time.Millisecond,
		StopMargin: 70 * time.Millisecond,
		Image:      80 * time.Millisecond,
		Connect:    90 * time.Millisecond,
	}
	zero := 0
	calls := []struct {
		name  string
		limit time.Duration
		call  func(context.Context, client.APIClient) error
	}{
		{"ContainerInspect", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerInspect(ctx, "c")
			return err
		}},
		{"ContainerList", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerList(ctx, container.ListOptions{})
			return err
		}},
		{"ImageInspect", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ImageInspect(ctx, "berth/demo")
			return err
		}},
		{"ImageList", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ImageList(ctx, image.ListOptions{})
			return err
		}},
		{"NetworkInspect", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.NetworkInspect(ctx, "n", network.InspectOptions{})
			return err
		}},
		{"NetworkList", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.NetworkList(ctx, network.ListOptions{})
			return err
		}},
		{"VolumeInspect", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.VolumeInspect(ctx, "v")
			return err
		}},
		{"VolumeList", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.VolumeList(ctx, volume.ListOptions{})
			return err
		}},
		{"Info", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.Info(ctx)
			return err
		}},
		{"ServerVersion", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ServerVersion(ctx)
			return err
		}},
		{"Ping", d.Query, func(ctx context.Context, api client.APIClient) error {
			_, err := api.Ping(ctx)
			return err
		}},
		{"ContainerCreate", d.Change, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerCreate(ctx, &container.Config{Image: "berth/demo"}, nil, nil, nil, "c")
			return err
		}},
		{"ContainerStart", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.ContainerStart(ctx, "c", container.StartOptions{})
		}},
		{"ContainerStop", d.StopMargin, func(ctx context.Context, api client.APIClient) error {
			return api.ContainerStop(ctx, "c", container.StopOptions{Timeout: &zero})
		}},
		{"ContainerKill", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.ContainerKill(ctx, "c", "KILL")
		}},
		{"ContainerRemove", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.ContainerRemove(ctx, "c", container.RemoveOptions{Force: true})
		}},
		{"NetworkCreate", d.Change, func(ctx context.Context, api client.APIClient) error {
			_, err := api.NetworkCreate(ctx, "n", network.CreateOptions{})
			return err
		}},
		{"NetworkRemove", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.NetworkRemove(ctx, "n")
		}},
		{"NetworkConnect", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.NetworkConnect(ctx, "n", "c", nil)
		}},
		{"NetworkDisconnect", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.NetworkDisconnect(ctx, "n", "c", true)
		}},
		{"VolumeCreate", d.Change, func(ctx context.Context, api client.APIClient) error {
			_, err := api.VolumeCreate(ctx, volume.CreateOptions{Name: "v"})
			return err
		}},
		{"VolumeRemove", d.Change, func(ctx context.Context, api client.APIClient) error {
			return api.VolumeRemove(ctx, "v", false)
		}},
		{"ImageRemove", d.Image, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ImageRemove(ctx, "berth/demo", image.RemoveOptions{})
			return err
		}},
		{"ImageLoad", d.Image, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ImageLoad(ctx, strings.NewReader(""))
			return err
		}},
		{"ImagePull", d.Image, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ImagePull(ctx, "berth/demo", image.PullOptions{})
			return err
		}},
		{"ContainerLogs", d.Connect, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerLogs(ctx, "c", container.LogsOptions{ShowStdout: true, Follow: true})
			return err
		}},
		{"ContainerStatsOneShot", d.Connect, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerStatsOneShot(ctx, "c")
			return err
		}},
		{"ContainerAttach", d.Connect, func(ctx context.Context, api client.APIClient) error {
			_, err := api.ContainerAttach(ctx, "c", container.AttachOptions{Stream: true, Stdout: true})
			return err
		}},
		{"Events", d.Connect, func(ctx context.Context, api client.APIClient) error {
			msgs, errs := api.Events(ctx, events.ListOptions{})
			select {
			case err := <-errs:
				return err
			case m := <-msgs:
				return fmt.Errorf("an event from an engine that never answers: %+v", m)
			}
		}},
	}
	clients := []struct {
		name string
		opts []client.Opt
	}{
		{"with a fixed API version", []client.Opt{client.WithVersion("1.41")}},
		{"negotiating the API version", []client.Opt{client.WithAPIVersionNegotiation()}},
	}
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					// A client of its own for each call: a negotiation
					// settled by one call would spare the next its ping.
					raw, err := client.NewClientWithOpts(append([]client.Opt{client.WithHost(silentEngine(t))}, cl.opts...)...)
					if err != nil {
						t.Fatal(err)
					}
					defer raw.Close()
					api := engine.WithDeadlinesOf(raw, d)
					err = returnsOrFails(t, func() error { return c.call(context.Background(), api) })
					want := fmt.Sprintf("docker engine did not answer %s within %s", c.name, c.limit)
					var deadline *engine.DeadlineError
					if err == nil || err.Error() != want || !errors.As(err, &deadline) {
						t.Errorf("%s returned %v, want %q", c.name, err, want)
					}
				})
			}
		})
	}
}

// The API version negotiation a caller asks for ends at its deadline too.
func TestAPIVersionNegotiationEndsWhenTheEngineNeverAnswers(t *testing.T) {
	t.Parallel()
	raw, err := client.NewClientWithOpts(client.WithHost(silentEngine(t)), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	api := engine.WithDeadlinesOf(raw, engine.Deadlines{Query: 50 * time.Millisecond})
	returnsOrFails(t, func() error { api.NegotiateAPIVersion(context.Background()); return nil })
	// The negotiation failed, so the next call tries again, within its own
	// deadline.
	err = returnsOrFails(t, func() error { _, err := api.ContainerInspect(context.Background(), "c"); return err })
	if want := "docker engine did not answer ContainerInspect within 50ms"; err == nil || err.Error() != want {
		t.Errorf("ContainerInspect after a failed negotiation returned %v, want %q", err, want)
	}
}

// returnsOrFails runs call and returns its error, failing the test if it
// never returns: a guard against a hang, not a measure of time.
func returnsOrFails(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(testTimeout):
		t.Fatal("the call never returned")
		return nil
	}
}
