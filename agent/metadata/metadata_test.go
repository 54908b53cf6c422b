package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/network"
)

// tasks is a Source of one task with one container, on a bridge whose
// gateway is loopback, so the server listens where the test reaches it.
type tasks struct{ answer Answer }

func (s tasks) Resolve(taskID, token string) (Answer, error) {
	if taskID != "T1" || token != Token("T1", s.answer.Container.Name) {
		return Answer{}, errors.New("no such container")
	}
	return s.answer, nil
}

func (s tasks) Stats(_ context.Context, dockerID string) (json.RawMessage, error) {
	return json.RawMessage(fmt.Sprintf(`{"id": %q}`, dockerID)), nil
}

func (s tasks) Bridge(context.Context) (network.Inspect, error) {
	return network.Inspect{IPAM: network.IPAM{Config: []network.IPAMConfig{{Gateway: "127.0.0.1"}}}}, nil
}

func newServer(t *testing.T, port int, logf func(string, ...any)) (*Server, string) {
	t.Helper()
	web := Container{DockerID: "d1", Name: "web"}
	s := &Server{Source: tasks{Answer{Task: Task{TaskARN: "arn:T1", Containers: []Container{web}}, Container: web}}, Port: port, Logf: logf}
	t.Cleanup(s.Close)
	base, err := s.Ensure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, base
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// Each path answers in ECS's shape, for version 3 and 4 alike; a token no
// container answers to is a 404.
func TestTheEndpointAnswersEachPath(t *testing.T) {
	_, base := newServer(t, 0, t.Logf)
	v4, v3 := URIs(base, "T1", "web")
	tests := []struct {
		url   string
		code  int
		field string
		want  any
	}{
		{v4, 200, "Name", "web"},
		{v3, 200, "DockerId", "d1"},
		{v4 + "/task", 200, "TaskARN", "arn:T1"},
		{v3 + "/task", 200, "TaskARN", "arn:T1"},
		{v4 + "/taskWithTags", 200, "TaskTags", map[string]any{}},
		{v4 + "/stats", 200, "id", "d1"},
		{v4 + "/task/stats", 200, "d1", map[string]any{"id": "d1"}},
		{base + "/v4/T1-1", 404, "", nil},
		{base + "/v4/notoken", 404, "", nil},
	}
	for _, tt := range tests {
		code, body := get(t, tt.url)
		if code != tt.code || tt.field != "" && fmt.Sprint(body[tt.field]) != fmt.Sprint(tt.want) {
			t.Errorf("GET %s: %d %v; want %d with %s = %v", strings.TrimPrefix(tt.url, base), code, body, tt.code, tt.field, tt.want)
		}
	}
}

// Given a port, the server listens there; given one taken, it says so and
// takes a free one.
func TestTheEndpointTakesItsPortOrSaysWhyNot(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	var said []string
	_, base := newServer(t, port, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		said = append(said, fmt.Sprintf(format, args...))
	})
	mu.Lock()
	log := strings.Join(said, "\n")
	mu.Unlock()
	if strings.HasSuffix(base, fmt.Sprintf(":%d", port)) || !strings.Contains(log, fmt.Sprintf("cannot have its port %d", port)) {
		t.Errorf("port %d taken: listening at %s, said %q", port, base, log)
	}
	held.Close()
	if _, again := newServer(t, port, t.Logf); again != fmt.Sprintf("http://127.0.0.1:%d", port) {
		t.Errorf("port %d free: listening at %s", port, again)
	}
}

func TestBridgeGatewayIsTheIPAMGatewayOrTheBridgeInterfaces(t *testing.T) {
	got, err := BridgeGateway(network.Inspect{IPAM: network.IPAM{Config: []network.IPAMConfig{{Gateway: "fe80::1"}, {Gateway: "172.17.0.1"}}}})
	if err != nil || got != "172.17.0.1" {
		t.Errorf("IPv4 gateway of the IPAM: %q, %v", got, err)
	}
	if _, err := BridgeGateway(network.Inspect{Options: map[string]string{"com.docker.network.bridge.name": "berth-no-such-if"}}); err == nil || !strings.Contains(err.Error(), "berth-no-such-if") {
		t.Errorf("no gateway and no interface: %v", err)
	}
}
