// Package metadata serves the task metadata endpoint (versions 3 and 4) of
// an agent's tasks, as the ECS agent serves it. The ECS agent answers on
// 169.254.170.2, an address it routes to itself; berth listens on the
// gateway of the engine's default bridge network instead, an address of
// the host that containers in bridge, host and awsvpc mode all reach (and
// that is not published on the host's other addresses). Each container's
// URL names its task and container: /v4/TASKID-HASH, HASH being a hash of
// the container's name (Token).
//
// What the endpoint answers comes from a Source, the agent: the server
// here knows the URLs, the JSON shapes and the listening, not the tasks.
package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/network"
)

// Source is what the endpoint answers from.
type Source interface {
	// Resolve finds the task and container a token names; an error says
	// why none does.
	Resolve(taskID, token string) (Answer, error)
	// Stats is the engine's one-shot stats of a container, as the engine
	// gives them.
	Stats(ctx context.Context, dockerID string) (json.RawMessage, error)
	// Bridge is the engine's default bridge network.
	Bridge(ctx context.Context) (network.Inspect, error)
}

// Answer is one container of one task as the endpoint shows them.
type Answer struct {
	Task      Task
	Container Container
}

// Server is the endpoint of an agent's tasks. It starts on the first
// Ensure and listens on Port when one is given: a later server given the
// same port answers the tasks its agent recovers at the URLs they were
// started with. On any free port otherwise, or when that port is taken:
// the tasks started before then keep URLs that answer no more, which the
// server says through Logf.
type Server struct {
	Source Source
	Port   int
	Logf   func(format string, args ...any)

	mu      sync.Mutex
	closed  bool
	base    string // http://GATEWAY:PORT once started
	srv     *http.Server
	stopped chan struct{}
}

// Token names a container in its endpoint URL.
func Token(taskID, container string) string {
	h := fnv.New32a()
	h.Write([]byte(container))
	return taskID + "-" + strconv.FormatUint(uint64(h.Sum32()), 10)
}

// URIs are the v4 and v3 endpoint URLs of a container of a task, under
// the base URL Ensure returned.
func URIs(base, taskID, container string) (v4, v3 string) {
	token := Token(taskID, container)
	return base + "/v4/" + token, base + "/v3/" + token
}

// Ensure starts the endpoint if it has not started and returns its base
// URL, http://GATEWAY:PORT; "" once it has closed.
func (m *Server) Ensure(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base == "" && !m.closed {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.start(ctx); err != nil {
			return "", err
		}
	}
	return m.base, nil
}

// start starts the endpoint; the caller holds mu.
func (m *Server) start(ctx context.Context) error {
	bridge, err := m.Source.Bridge(ctx)
	if err != nil {
		return fmt.Errorf("find the engine's default bridge network: %w", err)
	}
	gateway, err := BridgeGateway(bridge)
	if err != nil {
		return err
	}
	l, err := m.listen(gateway)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, v := range []string{"v3", "v4"} {
		mux.HandleFunc("GET /"+v+"/{token}", m.handle(func(_ context.Context, a Answer) (any, error) { return a.Container, nil }))
		mux.HandleFunc("GET /"+v+"/{token}/task", m.handle(func(_ context.Context, a Answer) (any, error) { return a.Task, nil }))
		mux.HandleFunc("GET /"+v+"/{token}/stats", m.handle(m.containerStats))
		mux.HandleFunc("GET /"+v+"/{token}/task/stats", m.handle(m.taskStats))
	}
	mux.HandleFunc("GET /v4/{token}/taskWithTags", m.handle(taskWithTags))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.stopped = make(chan struct{})
	m.base = "http://" + l.Addr().String()
	go func() {
		defer close(m.stopped)
		_ = m.srv.Serve(l) // ends with Close
	}()
	return nil
}

// listen listens on the gateway at Port, or at any free one when none is
// given or the one given is taken.
func (m *Server) listen(gateway string) (net.Listener, error) {
	if m.Port != 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(gateway, strconv.Itoa(m.Port)))
		if err == nil {
			return l, nil
		}
		m.Logf("the task metadata endpoint cannot have its port %d on %s again (%v): it takes a free port, "+
			"and the tasks started before cannot reach their ECS_CONTAINER_METADATA_URI_V4 until they are started again", m.Port, gateway, err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(gateway, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on the bridge gateway (is the engine on another machine?): %w", err)
	}
	return l, nil
}

// BridgeGateway is the host's IPv4 address on the engine's default bridge:
// its IPAM gateway, or, as the engine's own default bridge does not always
// state one, the address of its host interface (docker0).
func BridgeGateway(bridge network.Inspect) (string, error) {
	for _, c := range bridge.IPAM.Config {
		if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
			return c.Gateway, nil
		}
	}
	name := bridge.Options["com.docker.network.bridge.name"]
	if name == "" {
		name = "docker0"
	}
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return "", fmt.Errorf("the engine's default bridge network names no gateway, and its interface %s: %w", name, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return "", fmt.Errorf("addresses of the bridge interface %s: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("the bridge interface %s has no IPv4 address", name)
}

// Close stops the endpoint, if it started; none starts after it.
func (m *Server) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	<-m.stopped
}

// handle resolves the request's token and answers with what answer returns.
// Version 3 gets version 4's answer: the fields version 4 added are extra
// fields to a version 3 reader.
func (m *Server) handle(answer func(context.Context, Answer) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		taskID, _, ok := strings.Cut(token, "-")
		if !ok {
			http.Error(w, fmt.Sprintf("no container of this agent's tasks answers to %q", token), http.StatusNotFound)
			return
		}
		a, err := m.Source.Resolve(taskID, token)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		body, err := answer(r.Context(), a)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		_ = enc.Encode(body)
	}
}

// taskWithTags is the task with its tags and its container instance's.
// berth's tasks and instances carry none (RunTask's tags are the API's), so
// both are empty, as ECS shows a task without tags.
func taskWithTags(_ context.Context, a Answer) (any, error) {
	return struct {
		Task
		TaskTags              map[string]string `json:"TaskTags"`
		ContainerInstanceTags map[string]string `json:"ContainerInstanceTags"`
	}{a.Task, map[string]string{}, map[string]string{}}, nil
}

func (m *Server) containerStats(ctx context.Context, a Answer) (any, error) {
	return m.stats(ctx, a.Container.DockerID)
}

func (m *Server) taskStats(ctx context.Context, a Answer) (any, error) {
	out := map[string]json.RawMessage{}
	for _, c := range a.Task.Containers {
		if c.DockerID == "" {
			continue
		}
		s, err := m.stats(ctx, c.DockerID)
		if err != nil {
			// One container gone from the engine spoils not the others'.
			s = json.RawMessage("null")
		}
		out[c.DockerID] = s
	}
	return out, nil
}

// stats is the engine's one-shot stats of a container; null for a
// container not created yet, as ECS answers.
func (m *Server) stats(ctx context.Context, dockerID string) (json.RawMessage, error) {
	if dockerID == "" {
		return json.RawMessage("null"), nil
	}
	return m.Source.Stats(ctx, dockerID)
}

// The endpoint's JSON, in ECS's field names.
type (
	// Task is a task: the answer of /task.
	Task struct {
		Cluster            string      `json:"Cluster"`
		TaskARN            string      `json:"TaskARN"`
		Family             string      `json:"Family"`
		Revision           string      `json:"Revision"`
		DesiredStatus      string      `json:"DesiredStatus"`
		KnownStatus        string      `json:"KnownStatus"`
		Limits             *TaskLimits `json:"Limits,omitempty"`
		PullStartedAt      *time.Time  `json:"PullStartedAt,omitempty"`
		PullStoppedAt      *time.Time  `json:"PullStoppedAt,omitempty"`
		ExecutionStoppedAt *time.Time  `json:"ExecutionStoppedAt,omitempty"`
		AvailabilityZone   string      `json:"AvailabilityZone,omitempty"`
		LaunchType         string      `json:"LaunchType"`
		Containers         []Container `json:"Containers"`
	}
	// TaskLimits are the task-level cpu and memory.
	TaskLimits struct {
		CPU    float64 `json:"CPU"` // vCPUs
		Memory int     `json:"Memory"`
	}
	// Container is a container: the answer of the container's own URL.
	Container struct {
		DockerID      string            `json:"DockerId"`
		Name          string            `json:"Name"`
		DockerName    string            `json:"DockerName"`
		Image         string            `json:"Image"`
		ImageID       string            `json:"ImageID"`
		Ports         []Port            `json:"Ports,omitempty"`
		Labels        map[string]string `json:"Labels,omitempty"`
		DesiredStatus string            `json:"DesiredStatus"`
		KnownStatus   string            `json:"KnownStatus"`
		ExitCode      *int              `json:"ExitCode,omitempty"`
		Limits        ContainerLimits   `json:"Limits"`
		CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
		StartedAt     *time.Time        `json:"StartedAt,omitempty"`
		FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
		Type          string            `json:"Type"`
		Health        *Health           `json:"Health,omitempty"`
		LogDriver     string            `json:"LogDriver,omitempty"`
		LogOptions    map[string]string `json:"LogOptions,omitempty"`
		ContainerARN  string            `json:"ContainerARN,omitempty"`
		Networks      []Network         `json:"Networks,omitempty"`
	}
	// ContainerLimits are the container's cpu units and memory.
	ContainerLimits struct {
		CPU    int `json:"CPU"` // units
		Memory int `json:"Memory"`
	}
	// Port is a port mapping of the container, as bound.
	Port struct {
		ContainerPort int    `json:"ContainerPort"`
		Protocol      string `json:"Protocol"`
		HostPort      int    `json:"HostPort,omitempty"`
		HostIP        string `json:"HostIp,omitempty"`
	}
	// Health is ECS's: the exit code of a check that passed (0)
	// is left out, as ECS leaves it out.
	Health struct {
		Status   string     `json:"status"`
		Since    *time.Time `json:"statusSince,omitempty"`
		ExitCode int        `json:"exitCode,omitempty"`
		Output   string     `json:"output,omitempty"`
	}
	// Network is a network of the container, with its addresses.
	Network struct {
		NetworkMode   string   `json:"NetworkMode"`
		IPv4Addresses []string `json:"IPv4Addresses,omitempty"`
	}
)
