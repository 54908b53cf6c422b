// Package enginetest is an engine.Engine that keeps containers, networks,
// volumes and images in memory, for tests and benchmarks of the agent that
// need no Docker engine. It answers as Docker does where the agent looks:
// the states a container goes through (created, running, exited), the exit
// codes of stops and kills, the events and their attributes, inspects
// shaped as Docker's, addresses from each network's subnet, and Docker's
// errors (NotFound, Conflict, as github.com/containerd/errdefs tells them).
//
// Nothing runs: what a container's process does is its image's Program
// (it honours SIGTERM, or not; it exits at once with a code), or what the
// test makes it do (Exit, SetHealth, OOM). Faults are injected per call
// (Inject): a call that hangs until its context ends, one that fails.
//
// Time is the engine's Clock: a clock.Manual lets a test move a stop's
// timeout along without waiting for it.
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/system"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
)

// Engine is an engine in memory. Its methods are safe for concurrent use.
type Engine struct {
	clock clock.Clock
	host  string
	// apiVersion is the Docker API version ServerVersion answers.
	apiVersion atomic.Value

	mu         sync.Mutex
	containers map[string]*fakeContainer // by ID
	images     map[string]*fakeImage     // by ID
	tags       map[string]string         // reference → image ID
	registry   map[string]map[string]string
	programs   map[string]Program      // by image reference
	networks   map[string]*fakeNetwork // by ID
	volumes    map[string]*fakeVolume  // by name
	log        []events.Message
	dropping   bool
	subs       map[*subscriber]struct{}
	faults     map[string]Fault
	calls      map[string]int
}

var _ engine.Engine = (*Engine)(nil)

var engines atomic.Int64

// New returns an empty engine (with Docker's default bridge network) on
// the clock c; nil means the real clock.
func New(c clock.Clock) *Engine {
	if c == nil {
		c = clock.Real()
	}
	e := &Engine{
		clock:      c,
		host:       fmt.Sprintf("enginetest://%d", engines.Add(1)),
		containers: map[string]*fakeContainer{},
		images:     map[string]*fakeImage{},
		tags:       map[string]string{},
		registry:   map[string]map[string]string{},
		programs:   map[string]Program{},
		networks:   map[string]*fakeNetwork{},
		volumes:    map[string]*fakeVolume{},
		subs:       map[*subscriber]struct{}{},
		faults:     map[string]Fault{},
		calls:      map[string]int{},
	}
	e.apiVersion.Store(DefaultAPIVersion)
	e.addNetwork("bridge", "bridge", "172.17.0.0/16", nil)
	return e
}

// DefaultAPIVersion is the Docker API version a new engine answers.
const DefaultAPIVersion = "1.41"

// SetAPIVersion makes ServerVersion answer version ("1.44") as the
// engine's Docker API version.
func (e *Engine) SetAPIVersion(version string) { e.apiVersion.Store(version) }

// A Fault runs at the start of the call it is injected into, with the
// call's context and what the call names (a container's ID or name, a
// network, a volume, an image reference; empty for a call on the engine).
// An error it returns is the call's answer; nil lets the call go on.
type Fault func(ctx context.Context, target string) error

// Inject has every later call named call (as Engine's method is named:
// "ContainerStart") run f first; nil removes the fault.
func (e *Engine) Inject(call string, f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f == nil {
		delete(e.faults, call)
		return
	}
	e.faults[call] = f
}

// Hang is a fault that holds the call until its context ends, as an
// engine that never answers does.
func Hang(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

// Hanging returns Hang and a channel that receives the target of each
// call as it starts to hang, so that a test acts once the call is stuck.
func Hanging() (Fault, <-chan string) {
	entered := make(chan string, 64)
	return func(ctx context.Context, target string) error {
		select {
		case entered <- target:
		default:
		}
		return Hang(ctx, target)
	}, entered
}

// Fail is a fault that fails every call with err.
func Fail(err error) Fault {
	return func(context.Context, string) error { return err }
}

// Only is f for the calls on target alone.
func Only(target string, f Fault) Fault {
	return func(ctx context.Context, t string) error {
		if t != target {
			return nil
		}
		return f(ctx, t)
	}
}

// Calls returns how many times call has been made.
func (e *Engine) Calls(call string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[call]
}

// enter counts a call and runs its fault, if any.
func (e *Engine) enter(ctx context.Context, call, target string) error {
	e.mu.Lock()
	e.calls[call]++
	f := e.faults[call]
	e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if f != nil {
		return f(ctx, target)
	}
	return nil
}

// Info describes the engine: its clock and a cgroup v2 host managed with
// the cgroupfs driver.
func (e *Engine) Info(ctx context.Context) (system.Info, error) {
	if err := e.enter(ctx, "Info", ""); err != nil {
		return system.Info{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return system.Info{
		ID:              e.host,
		Name:            "enginetest",
		ServerVersion:   "28.5.2",
		OperatingSystem: "enginetest",
		OSType:          "linux",
		Architecture:    "x86_64",
		CgroupDriver:    "cgroupfs",
		CgroupVersion:   "2",
		NCPU:            4,
		MemTotal:        8 << 30,
		Containers:      len(e.containers),
		Images:          len(e.images),
		SystemTime:      e.clock.Now().UTC().Format(time.RFC3339Nano),
	}, nil
}

// ServerVersion answers the engine's versions: its Docker API version is
// DefaultAPIVersion, or the one SetAPIVersion gave.
func (e *Engine) ServerVersion(ctx context.Context) (types.Version, error) {
	if err := e.enter(ctx, "ServerVersion", ""); err != nil {
		return types.Version{}, err
	}
	return types.Version{Version: "28.5.2", APIVersion: e.apiVersion.Load().(string), MinAPIVersion: "1.24", Os: "linux", Arch: "amd64"}, nil
}

// DaemonHost names the engine, uniquely among the engines of the process.
func (e *Engine) DaemonHost() string { return e.host }

// Errors as Docker's client returns them.

func notFound(format string, args ...any) error {
	return fmt.Errorf("Error response from daemon: "+format+": %w", append(args, cerrdefs.ErrNotFound)...)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("Error response from daemon: "+format+": %w", append(args, cerrdefs.ErrConflict)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("Error response from daemon: "+format+": %w", append(args, cerrdefs.ErrInvalidArgument)...)
}

// newID returns a 64-hex-digit ID, as Docker's.
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// matchLabels reports whether labels pass f's label filters.
func matchLabels(f filters.Args, labels map[string]string) bool {
	return f.MatchKVList("label", labels)
}

// matchName reports whether name passes f's name filters (a substring
// match, as Docker's).
func matchName(f filters.Args, name string) bool {
	names := f.Get("name")
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if strings.Contains(name, strings.TrimPrefix(n, "/")) {
			return true
		}
	}
	return false
}

// parseSince reads an events Since: seconds, with optional nanoseconds
// after a dot, or an RFC 3339 time.
func parseSince(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nanos int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nanos, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(secs, nanos), true
}
