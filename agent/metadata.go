package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/taskdef"
)

// The environment variables through which a container finds its task
// metadata endpoint, as the ECS agent sets them.
const (
	EnvMetadataURIV4 = "ECS_CONTAINER_METADATA_URI_V4"
	EnvMetadataURIV3 = "ECS_CONTAINER_METADATA_URI"
)

// metadataServer is the task metadata endpoint (versions 3 and 4) of the
// agent's tasks. The ECS agent answers on 169.254.170.2, an address it
// routes to itself; berth listens on the gateway of the engine's default
// bridge network instead, an address of the host that containers in
// bridge, host and awsvpc mode all reach (and that is not published on the
// host's other addresses). Each container's URL names its task and container:
// /v4/TASKID-HASH, HASH being a hash of the container's name.
//
// It starts with the agent's first container, or with the agent when it
// recovers tasks, and ends with the agent. It listens on Config.MetadataPort
// when one is given: a later agent given the same port answers the tasks it
// recovers at the URLs they were started with (berth server keeps each
// agent's port in its store). On any free port otherwise, or when that port
// is taken: the tasks started before then keep URLs that answer no more,
// which the agent says through Logf.
type metadataServer struct {
	a *Agent

	mu      sync.Mutex
	closed  bool
	base    string // http://GATEWAY:PORT once started
	srv     *http.Server
	stopped chan struct{}
}

// uris returns the v4 and v3 endpoint URLs of a container of the task, or
// "" when there is no endpoint. It starts the endpoint if it has not
// started; one that could not start is tried again for the next container,
// as what kept it may pass.
func (m *metadataServer) uris(taskID, container string) (v4, v3 string) {
	if m.a.cfg.NoMetadataEndpoint {
		return "", ""
	}
	// Not the task's context: a stop of the task must not cut off the
	// endpoint of the agent's other tasks.
	base, err := m.ensure(m.a.ctx)
	if err != nil {
		m.a.cfg.Logf("container %s gets no task metadata endpoint: %v", container, err)
		return "", ""
	}
	if base == "" {
		return "", ""
	}
	token := metadataToken(taskID, container)
	return base + "/v4/" + token, base + "/v3/" + token
}

// ensure starts the endpoint if it has not started and returns its base
// URL, http://GATEWAY:PORT; "" once the agent has closed.
func (m *metadataServer) ensure(ctx context.Context) (string, error) {
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

// MetadataEndpoint starts the agent's task metadata endpoint, if it has not
// started, and returns its base URL (http://GATEWAY:PORT), whose port a
// later agent may be given as Config.MetadataPort. It returns
// ErrMetadataDisabled when Config.NoMetadataEndpoint is set.
func (a *Agent) MetadataEndpoint(ctx context.Context) (string, error) {
	if a.cfg.NoMetadataEndpoint {
		return "", ErrMetadataDisabled
	}
	base, err := a.metadata.ensure(ctx)
	if err == nil && base == "" {
		err = ErrClosed
	}
	return base, err
}

// ErrMetadataDisabled: the agent was configured with no task metadata
// endpoint.
var ErrMetadataDisabled = errors.New("the task metadata endpoint is turned off")

// metadataToken names a container in its endpoint URL.
func metadataToken(taskID, container string) string {
	h := fnv.New32a()
	h.Write([]byte(container))
	return taskID + "-" + strconv.FormatUint(uint64(h.Sum32()), 10)
}

// start starts the endpoint; the caller holds mu.
func (m *metadataServer) start(ctx context.Context) error {
	bridge, err := m.a.docker.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		return fmt.Errorf("find the engine's default bridge network: %w", err)
	}
	gateway, err := bridgeGateway(bridge)
	if err != nil {
		return err
	}
	l, err := m.listen(gateway)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, v := range []string{"v3", "v4"} {
		mux.HandleFunc("GET /"+v+"/{token}", m.handle(m.container))
		mux.HandleFunc("GET /"+v+"/{token}/task", m.handle(m.task))
		mux.HandleFunc("GET /"+v+"/{token}/stats", m.handle(m.containerStats))
		mux.HandleFunc("GET /"+v+"/{token}/task/stats", m.handle(m.taskStats))
	}
	mux.HandleFunc("GET /v4/{token}/taskWithTags", m.handle(m.taskWithTags))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.stopped = make(chan struct{})
	m.base = "http://" + l.Addr().String()
	go func() {
		defer close(m.stopped)
		_ = m.srv.Serve(l) // ends with close
	}()
	return nil
}

// listen listens on the gateway at the configured port, or at any free one
// when none is configured or the configured one is taken.
func (m *metadataServer) listen(gateway string) (net.Listener, error) {
	if port := m.a.cfg.MetadataPort; port != 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(gateway, strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		m.a.cfg.Logf("the task metadata endpoint cannot have its port %d on %s again (%v): it takes a free port, "+
			"and the tasks started before cannot reach their ECS_CONTAINER_METADATA_URI_V4 until they are started again", port, gateway, err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(gateway, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on the bridge gateway (is the engine on another machine?): %w", err)
	}
	return l, nil
}

// bridgeGateway is the host's IPv4 address on the engine's default bridge:
// its IPAM gateway, or, as the engine's own default bridge does not always
// state one, the address of its host interface (docker0).
func bridgeGateway(bridge network.Inspect) (string, error) {
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

// close stops the endpoint, if it started; none starts after it.
func (m *metadataServer) close() {
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

// metadataRequest is one request resolved to its task and container.
type metadataRequest struct {
	task      *task
	state     TaskState
	container ContainerState
}

// handle resolves the request's token and answers with what answer returns.
// Version 3 gets version 4's answer: the fields version 4 added are extra
// fields to a version 3 reader.
func (m *metadataServer) handle(answer func(context.Context, metadataRequest) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := m.resolve(r.PathValue("token"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		body, err := answer(r.Context(), req)
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

// resolve finds the task and container a token names.
func (m *metadataServer) resolve(token string) (metadataRequest, error) {
	taskID, _, ok := strings.Cut(token, "-")
	if !ok {
		return metadataRequest{}, fmt.Errorf("no container of this agent's tasks answers to %q", token)
	}
	t, found := m.a.lookup(taskID)
	if !found {
		return metadataRequest{}, fmt.Errorf("task %s is not one of this agent's", taskID)
	}
	st := t.snapshotState()
	for _, c := range st.Containers {
		if metadataToken(taskID, c.Name) == token {
			return metadataRequest{task: t, state: st, container: c}, nil
		}
	}
	return metadataRequest{}, fmt.Errorf("task %s has no container that answers to %q", taskID, token)
}

func (m *metadataServer) container(_ context.Context, r metadataRequest) (any, error) {
	return m.containerMetadata(r.task, r.state, r.container), nil
}

func (m *metadataServer) task(_ context.Context, r metadataRequest) (any, error) {
	return m.describeTask(r), nil
}

// describeTask is the task as the endpoint shows it.
func (m *metadataServer) describeTask(r metadataRequest) taskMetadata {
	st := r.state
	out := taskMetadata{
		Cluster:            st.Cluster,
		TaskARN:            st.ARN,
		Family:             st.Family,
		Revision:           strconv.Itoa(st.Revision),
		DesiredStatus:      st.DesiredStatus.String(),
		KnownStatus:        st.LastStatus.String(),
		PullStartedAt:      timeOrNil(st.PullStartedAt),
		PullStoppedAt:      timeOrNil(st.PullStoppedAt),
		ExecutionStoppedAt: timeOrNil(st.ExecutionStoppedAt),
		AvailabilityZone:   m.a.cfg.AvailabilityZone,
		LaunchType:         st.LaunchType,
		Containers:         []containerMetadata{},
	}
	if st.LaunchType == taskdef.LaunchFargate {
		// Fargate's endpoint names the cluster by its ARN, EC2's by name.
		out.Cluster = fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", m.a.cfg.Region, m.a.cfg.AccountID, st.Cluster)
	}
	if st.CPU > 0 || st.Memory > 0 {
		out.Limits = &taskLimits{CPU: float64(st.CPU) / 1024, Memory: st.Memory}
	}
	for _, c := range st.Containers {
		out.Containers = append(out.Containers, m.containerMetadata(r.task, st, c))
	}
	return out
}

// taskWithTags is the task with its tags and its container instance's.
// berth's tasks and instances carry none (RunTask's tags are the API's), so
// both are empty, as ECS shows a task without tags.
func (m *metadataServer) taskWithTags(_ context.Context, r metadataRequest) (any, error) {
	return struct {
		taskMetadata
		TaskTags              map[string]string `json:"TaskTags"`
		ContainerInstanceTags map[string]string `json:"ContainerInstanceTags"`
	}{m.describeTask(r), map[string]string{}, map[string]string{}}, nil
}

func (m *metadataServer) containerStats(ctx context.Context, r metadataRequest) (any, error) {
	return m.stats(ctx, r.container.DockerID)
}

func (m *metadataServer) taskStats(ctx context.Context, r metadataRequest) (any, error) {
	out := map[string]json.RawMessage{}
	for _, c := range r.state.Containers {
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

// stats is the engine's one-shot stats of a container, as the engine
// gives them; null for a container not created yet, as ECS answers.
func (m *metadataServer) stats(ctx context.Context, dockerID string) (json.RawMessage, error) {
	if dockerID == "" {
		return json.RawMessage("null"), nil
	}
	resp, err := m.a.docker.ContainerStatsOneShot(ctx, dockerID)
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", dockerID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", dockerID, err)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("stats of container %s: the engine's answer is not JSON", dockerID)
	}
	return json.RawMessage(body), nil
}

// containerMetadata is one container as the endpoint shows it.
func (m *metadataServer) containerMetadata(t *task, st TaskState, c ContainerState) containerMetadata {
	out := containerMetadata{
		DockerID:      c.DockerID,
		Name:          c.Name,
		DockerName:    c.DockerName,
		Image:         c.Image,
		ImageID:       c.ImageID,
		DesiredStatus: c.DesiredStatus.String(),
		KnownStatus:   c.LastStatus.String(),
		ExitCode:      c.ExitCode,
		CreatedAt:     timeOrNil(c.CreatedAt),
		StartedAt:     timeOrNil(c.StartedAt),
		FinishedAt:    timeOrNil(c.FinishedAt),
		Type:          "NORMAL",
		ContainerARN:  containerARN(st.ARN, c.Name),
		Labels:        map[string]string{},
	}
	// A task's containers are fixed when it is made, so its goroutine and
	// this one may both read them.
	if tc := t.ctr(c.Name); tc != nil {
		def := tc.def
		out.Limits = containerLimits{CPU: def.CPU}
		if def.Memory != nil {
			out.Limits.Memory = *def.Memory
		}
		for k, v := range def.DockerLabels {
			out.Labels[k] = v
		}
		if def.LogConfiguration != nil {
			out.LogDriver = def.LogConfiguration.LogDriver
			out.LogOptions = def.LogConfiguration.Options
		}
		if def.HealthCheck != nil {
			out.Health = &containerHealth{
				Status: c.HealthStatus.String(),
				Since:  timeOrNil(c.HealthStatusSince),
				Output: c.HealthOutput,
			}
			if c.HealthExitCode != nil {
				out.Health.ExitCode = *c.HealthExitCode
			}
		}
	}
	// The labels ECS sets, which win over the definition's; not berth's own.
	t.addECSLabels(out.Labels, c.Name)
	for _, b := range c.NetworkBindings {
		out.Ports = append(out.Ports, containerPort{ContainerPort: b.ContainerPort, Protocol: b.Protocol, HostPort: b.HostPort, HostIP: b.BindIP})
	}
	mode := st.NetworkMode
	if mode == "" {
		mode = taskdef.NetworkBridge
	}
	nw := containerNetwork{NetworkMode: mode}
	switch {
	case mode == taskdef.NetworkAWSVPC && st.Address != "":
		nw.IPv4Addresses = []string{st.Address}
	case c.IP != "":
		nw.IPv4Addresses = []string{c.IP}
	}
	out.Networks = []containerNetwork{nw}
	return out
}

// containerARN gives a container an ARN of ECS's form, the same every time
// for one container of one task.
func containerARN(taskARN, name string) string {
	prefix, taskID, ok := strings.Cut(taskARN, ":task/")
	if !ok {
		return ""
	}
	h := fnv.New128a()
	h.Write([]byte(taskARN + "\x00" + name))
	sum := h.Sum(nil)
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return prefix + ":container/" + taskID + "/" + id
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// The endpoint's JSON, in ECS's field names.
type (
	taskMetadata struct {
		Cluster            string              `json:"Cluster"`
		TaskARN            string              `json:"TaskARN"`
		Family             string              `json:"Family"`
		Revision           string              `json:"Revision"`
		DesiredStatus      string              `json:"DesiredStatus"`
		KnownStatus        string              `json:"KnownStatus"`
		Limits             *taskLimits         `json:"Limits,omitempty"`
		PullStartedAt      *time.Time          `json:"PullStartedAt,omitempty"`
		PullStoppedAt      *time.Time          `json:"PullStoppedAt,omitempty"`
		ExecutionStoppedAt *time.Time          `json:"ExecutionStoppedAt,omitempty"`
		AvailabilityZone   string              `json:"AvailabilityZone,omitempty"`
		LaunchType         string              `json:"LaunchType"`
		Containers         []containerMetadata `json:"Containers"`
	}
	taskLimits struct {
		CPU    float64 `json:"CPU"` // vCPUs
		Memory int     `json:"Memory"`
	}
	containerMetadata struct {
		DockerID      string             `json:"DockerId"`
		Name          string             `json:"Name"`
		DockerName    string             `json:"DockerName"`
		Image         string             `json:"Image"`
		ImageID       string             `json:"ImageID"`
		Ports         []containerPort    `json:"Ports,omitempty"`
		Labels        map[string]string  `json:"Labels,omitempty"`
		DesiredStatus string             `json:"DesiredStatus"`
		KnownStatus   string             `json:"KnownStatus"`
		ExitCode      *int               `json:"ExitCode,omitempty"`
		Limits        containerLimits    `json:"Limits"`
		CreatedAt     *time.Time         `json:"CreatedAt,omitempty"`
		StartedAt     *time.Time         `json:"StartedAt,omitempty"`
		FinishedAt    *time.Time         `json:"FinishedAt,omitempty"`
		Type          string             `json:"Type"`
		Health        *containerHealth   `json:"Health,omitempty"`
		LogDriver     string             `json:"LogDriver,omitempty"`
		LogOptions    map[string]string  `json:"LogOptions,omitempty"`
		ContainerARN  string             `json:"ContainerARN,omitempty"`
		Networks      []containerNetwork `json:"Networks,omitempty"`
	}
	containerLimits struct {
		CPU    int `json:"CPU"` // units
		Memory int `json:"Memory"`
	}
	containerPort struct {
		ContainerPort int    `json:"ContainerPort"`
		Protocol      string `json:"Protocol"`
		HostPort      int    `json:"HostPort,omitempty"`
		HostIP        string `json:"HostIp,omitempty"`
	}
	// containerHealth is ECS's: the exit code of a check that passed (0)
	// is left out, as ECS leaves it out.
	containerHealth struct {
		Status   string     `json:"status"`
		Since    *time.Time `json:"statusSince,omitempty"`
		ExitCode int        `json:"exitCode,omitempty"`
		Output   string     `json:"output,omitempty"`
	}
	containerNetwork struct {
		NetworkMode   string   `json:"NetworkMode"`
		IPv4Addresses []string `json:"IPv4Addresses,omitempty"`
	}
)
