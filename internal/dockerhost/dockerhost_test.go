package dockerhost

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/testenv"
)

// An ssh:// DOCKER_HOST is read as the Docker CLI reads it, into the ssh
// command line of each connection; what ssh cannot take is refused,
// saying why.
func TestAnSSHHostIsTheCommandOfEachConnection(t *testing.T) {
	tests := []struct {
		host    string
		command string
		err     string
	}{
		{host: "ssh://build-box", command: "ssh -- build-box docker system dial-stdio"},
		{host: "ssh://me@build-box:2222", command: "ssh -l me -p 2222 -- build-box docker system dial-stdio"},
		{host: "ssh://me@build-box/", command: "ssh -l me -- build-box docker system dial-stdio"},
		{host: "ssh://me@build-box/run/user/1000/docker.sock", command: "ssh -l me -- build-box docker --host unix:///run/user/1000/docker.sock system dial-stdio"},
		{host: "ssh://[fd00::5]:22", command: "ssh -p 22 -- fd00::5 docker system dial-stdio"},
		{host: "ssh://me:secret@build-box", err: "a password in the URL is not taken"},
		{host: "ssh://me@", err: "no host"},
		{host: "ssh://build-box?socket=x", err: "a query after the host"},
		{host: "ssh://build-box#x", err: "a fragment after the host"},
		{host: "ssh://-oProxyCommand=x", err: "may not begin with -"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			s, err := ParseSSH(tt.host)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				if Check(tt.host) == nil {
					t.Errorf("Check takes it")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(s.Command(), " "); got != tt.command {
				t.Errorf("command %q, want %q", got, tt.command)
			}
			if again, err := ParseSSH(s.String()); err != nil || again != s {
				t.Errorf("its URL %s reads back as %+v %v", s, again, err)
			}
		})
	}
	if r := Redacted("ssh://me:secret@build-box"); r != "ssh://me:xxxxx@build-box" {
		t.Errorf("redacted %q", r)
	}
	if Check("tcp://10.0.0.5:2376") != nil || Check("unix:///var/run/docker.sock") != nil {
		t.Error("Check judges an engine that is not over ssh")
	}
}

// An engine over ssh answers through the client New makes, every
// connection an ssh of the right command line: its ping, its info (the
// test machine's engine, as the fake ssh joins it), a list of containers
// and a stream of events (those of a volume made and removed); an ssh that
// fails says why.
func TestAnEngineOverSSHAnswers(t *testing.T) {
	log := testenv.FakeSSH(t, "-l me -p 2222 -- somehost")
	local := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, err := local.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("DOCKER_HOST", "ssh://me@somehost:2222")
	api, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if h := api.DaemonHost(); h != "ssh://me@somehost:2222" {
		t.Errorf("DaemonHost %q", h)
	}
	if _, err := api.Ping(ctx); err != nil {
		t.Fatalf("ping over ssh: %v", err)
	}
	info, err := api.Info(ctx)
	if err != nil || info.ID != want.ID {
		t.Fatalf("info over ssh: engine %q, want %q (%v)", info.ID, want.ID, err)
	}
	if _, err := api.ContainerList(ctx, container.ListOptions{All: true}); err != nil {
		t.Errorf("container list over ssh: %v", err)
	}
	// A stream: the events of a volume made and removed.
	name := "berth-dockerhost-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	msgs, errs := api.Events(ctx, events.ListOptions{Since: since, Filters: filters.NewArgs(filters.Arg("type", "volume"), filters.Arg("volume", name))})
	if _, err := local.VolumeCreate(ctx, volume.CreateOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := local.VolumeRemove(ctx, name, true); err != nil {
		t.Fatal(err)
	}
	for got := []events.Action{}; !slices.Contains(got, events.ActionDestroy); {
		select {
		case m := <-msgs:
			got = append(got, m.Action)
		case err := <-errs:
			t.Fatalf("the events over ssh: %v (got %v)", err, got)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil || len(b) == 0 {
		t.Errorf("no connection went through ssh: %v", err)
	}

	t.Setenv("DOCKER_HOST", "ssh://you@somehost:2222")
	other, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "ssh: unexpected command line: -l you -p 2222") || !strings.Contains(err.Error(), "exit status 255") {
		t.Errorf("an ssh that fails: %v", err)
	}
}

// Connections end with their processes: a client closed leaves no ssh
// running.
func TestAClosedConnectionEndsItsProcess(t *testing.T) {
	testenv.FakeSSH(t, "-l me -p 2222 -- somehost")
	s, err := ParseSSH("ssh://me@somehost:2222")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.DialContext(context.Background(), "tcp", "ignored:0")
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*commandConn)
	if _, err := conn.Write([]byte("GET /_ping HTTP/1.1\r\nHost: " + "docker" + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := conn.Read(buf); err != nil || string(buf) != "HTTP/1.1 200" {
		t.Fatalf("the engine's answer: %q %v", buf, err)
	}
	conn.Close()
	select {
	case <-c.done:
	default:
		t.Error("the process runs on after Close")
	}
	if _, err := conn.Read(buf); err == nil {
		t.Error("a read after Close succeeds")
	}
	if !slices.Equal(c.cmd.Args, s.Command()) {
		t.Errorf("the process ran %v", c.cmd.Args)
	}
}
