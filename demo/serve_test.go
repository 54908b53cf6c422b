package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestHealthAnswersOKUntilMadeToFail(t *testing.T) {
	var log bytes.Buffer
	h := NewServer(ServerConfig{Log: &log}).Handler()
	steps := []struct {
		method, target string
		wantStatus     int
	}{
		{"GET", "/health", http.StatusOK},
		{"POST", "/health/fail", http.StatusOK},
		{"GET", "/health", http.StatusServiceUnavailable},
		{"POST", "/health/ok", http.StatusOK},
		{"GET", "/health", http.StatusOK},
		{"GET", "/health/fail", http.StatusMethodNotAllowed},
	}
	for _, s := range steps {
		if rec := get(t, h, s.method, s.target); rec.Code != s.wantStatus {
			t.Errorf("%s %s = %d, want %d", s.method, s.target, rec.Code, s.wantStatus)
		}
	}
	if !strings.Contains(log.String(), "GET /health 503") {
		t.Errorf("request log\n%s\nwant the failing health check logged", log.String())
	}
}

func TestFailAfter(t *testing.T) {
	tests := []struct {
		name      string
		failAfter time.Duration
		force     string
		want      int
	}{
		{"not yet reached is healthy", time.Hour, "", http.StatusOK},
		{"passed is failing", time.Nanosecond, "", http.StatusServiceUnavailable},
		{"passed but forced ok is healthy", time.Nanosecond, "/health/ok", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(ServerConfig{FailAfter: tt.failAfter})
			time.Sleep(time.Microsecond) // FailAfter counts from NewServer
			h := s.Handler()
			if tt.force != "" {
				get(t, h, "POST", tt.force)
			}
			if rec := get(t, h, "GET", "/health"); rec.Code != tt.want {
				t.Errorf("GET /health = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

// metadataServer answers like the task metadata endpoint v4 of one container.
func metadataServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v4/abc/task", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"Cluster":"default","TaskARN":"arn:aws:ecs:us-east-1:123456789012:task/default/abc","Family":"web","Revision":"3","LaunchType":"FARGATE"}`)
	})
	mux.HandleFunc("GET /v4/abc", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"Name":"app","DockerId":"d0c","Image":"berth/demo:latest"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestJSONDescribesTheTaskFromItsMetadata(t *testing.T) {
	md := metadataServer(t)
	t.Setenv("DEMO_COLOR", "blue")
	t.Setenv("DEMO_DB_PASSWORD", "hunter2")
	t.Setenv("OTHER", "x")
	cgroup := fstest.MapFS{"memory/memory.limit_in_bytes": file("67108864\n")}
	h := NewServer(ServerConfig{EnvPrefix: "DEMO_", MetadataURI: md.URL + "/v4/abc", Cgroup: cgroup}).Handler()

	rec := get(t, h, "GET", "/json")
	var d Description
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("decode /json: %v\n%s", err, rec.Body.String())
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"task family", d.Metadata.Task["Family"], "web"},
		{"container name", d.Metadata.Container["Name"], "app"},
		{"metadata error", d.Metadata.Error, ""},
		{"variable with the prefix", d.Environment["DEMO_COLOR"], "blue"},
		{"secret-looking variable", d.Environment["DEMO_DB_PASSWORD"], HiddenValue},
		{"variables shown", len(d.Environment), 2},
		{"memory limit", d.Cgroup.MemoryLimitBytes, int64(64 << 20)},
		{"healthy", d.Healthy, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestPageShowsTheTaskAndHidesSecrets(t *testing.T) {
	md := metadataServer(t)
	t.Setenv("DEMO_API_TOKEN", "s3cret")
	h := NewServer(ServerConfig{MetadataURI: md.URL + "/v4/abc"}).Handler()
	rec := get(t, h, "GET", "/")
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{"<h1>web:3</h1>", "arn:aws:ecs:us-east-1:123456789012:task/default/abc", "FARGATE", "app", "DEMO_API_TOKEN"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "s3cret") {
		t.Error("page shows the value of DEMO_API_TOKEN")
	}
	if rec := get(t, h, "GET", "/nothing"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing = %d, want 404", rec.Code)
	}
}

func TestAnUnreachableMetadataEndpointIsReportedNotFatal(t *testing.T) {
	md := metadataServer(t)
	h := NewServer(ServerConfig{MetadataURI: md.URL + "/v4/missing"}).Handler()
	rec := get(t, h, "GET", "/json")
	var d Description
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || d.Metadata == nil || !strings.Contains(d.Metadata.Error, "404") {
		t.Errorf("GET /json = %d with metadata %+v; want 200 and the 404 reported", rec.Code, d.Metadata)
	}
}

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"DB_PASSWORD": true, "GITHUB_TOKEN": true, "AWS_SECRET_ACCESS_KEY": true, "SSH_KEY": true,
		"api_key": true, "PATH": false, "HOSTNAME": false, "KEYBOARD": false, "DEMO_COLOR": false,
	} {
		if got := looksSecret(name); got != want {
			t.Errorf("looksSecret(%q) = %t, want %t", name, got, want)
		}
	}
}
