package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
)

func TestCheckListenRefusesAddressesBeyondLoopbackWithoutAToken(t *testing.T) {
	tests := []struct {
		addr, token string
		wantErr     error // nil: accepted
		bad         bool  // refused for its form
	}{
		{"127.0.0.1:3185", "", nil, false},
		{"127.0.0.2:0", "", nil, false},
		{"localhost:3185", "", nil, false},
		{"[::1]:3185", "", nil, false},
		{"0.0.0.0:3185", "", ErrTokenRequired, false},
		{":3185", "", ErrTokenRequired, false},
		{"192.0.2.10:3185", "", ErrTokenRequired, false},
		{"0.0.0.0:3185", "s3cret", nil, false},
		{"3185", "", nil, true},
		{"127.0.0.1:http-alt-nope", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.addr+" token="+tt.token, func(t *testing.T) {
			err := CheckListen(tt.addr, tt.token)
			switch {
			case tt.bad:
				if err == nil || errors.Is(err, ErrTokenRequired) {
					t.Errorf("got %v, want a refusal of the address's form", err)
				}
			case !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil):
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAServerAnswersHealthMetricsAndUnknownOperations(t *testing.T) {
	s := start(t, Config{})
	base := "http://" + s.Addr()
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	if _, err := new(expfmt.TextParser).TextToMetricFamilies(strings.NewReader(body)); err != nil {
		t.Errorf("/metrics is no valid exposition: %v\n%s", err, body)
	}
	resp, err := http.Post(base+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "UnknownOperationException") {
		t.Errorf("POST / without an API: %d %s", resp.StatusCode, b)
	}
}

func TestOneServerHoldsAStateDirectory(t *testing.T) {
	dir := t.TempDir()
	s := start(t, Config{StateDir: dir})
	info, ok := Discover(context.Background(), dir)
	if !ok || info.Address != s.Addr() || info.PID != os.Getpid() {
		t.Fatalf("Discover: %+v %v, want the server at %s", info, ok, s.Addr())
	}
	if _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", StateDir: dir}); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("a second server on the state directory: %v, want ErrAlreadyRunning", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, infoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server.json after shutdown: %v", err)
	}
	if _, ok := Discover(context.Background(), dir); ok {
		t.Error("Discover finds a server that has shut down")
	}
	again := start(t, Config{StateDir: dir})
	if again.Store() == nil {
		t.Error("a new server does not hold the store")
	}
}

func TestAServerWithATokenRefusesRequestsWithoutIt(t *testing.T) {
	s := start(t, Config{Token: "s3cret"})
	base := "http://" + s.Addr()
	tests := []struct {
		name, authorization string
		want                int
	}{
		{"no token", "", http.StatusForbidden},
		{"a forged bearer token", "Bearer guess", http.StatusForbidden},
		{"the bearer token", "Bearer s3cret", http.StatusOK},
		{"a signature with the token as access key", "AWS4-HMAC-SHA256 Credential=s3cret/20261127/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=abc", http.StatusOK},
		{"a signature with another access key", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=abc", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, base+"/healthz", "Authorization", tt.authorization)
			if code != tt.want {
				t.Errorf("%d %s, want %d", code, body, tt.want)
			}
			if code == http.StatusForbidden && !strings.Contains(body, "AccessDeniedException") {
				t.Errorf("refusal not in ECS's shape: %s", body)
			}
		})
	}
}

// What net/http refuses before any handler runs is answered in ECS's
// error shape too, and never as a 5xx.
func TestRequestsNetHTTPCannotReadGetECSErrors(t *testing.T) {
	s := start(t, Config{})
	tests := []struct {
		name    string
		request string
		want    int
	}{
		{"headers over the limit", "GET /healthz HTTP/1.1\r\nHost: b\r\nX-Big: " + strings.Repeat("a", 128<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"an unsupported Transfer-Encoding", "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", http.StatusBadRequest},
		{"a garbage request line", "GARBAGE\r\n\r\n", http.StatusBadRequest},
		{"an HTTP version that does not exist", "GET / HTTP/9.9\r\nHost: b\r\n\r\n", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go io.WriteString(conn, tt.request) // answered before it is all read
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if resp.StatusCode != tt.want || json.Unmarshal(body, &e) != nil || e.Type != "SerializationException" || e.Message == "" ||
				resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" || resp.Header.Get("X-Amzn-Errortype") != e.Type {
				t.Errorf("%d %v %s, want %d and ECS's error shape", resp.StatusCode, resp.Header, body, tt.want)
			}
		})
	}
	// Answers of the handlers pass as they are.
	if code, body := get(t, "http://"+s.Addr()+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
}
