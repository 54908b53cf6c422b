package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// A real Prometheus, run with examples/monitoring/prometheus.yml pointed
// at a real berth server, scrapes berth's metrics: after a scripted run (a
// task running, a task no instance can hold, a task stopped by the user)
// the running task is a berth_tasks series, and every query of the Grafana
// dashboard returns data through Prometheus's HTTP API (an API error is
// scripted too).
func TestPrometheusScrapesARealServer(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (./scripts/test.sh installs Debian's package where it can): the scrape by a real Prometheus is not checked")
	}
	s := newClusterServer(t)
	prom := startPrometheus(t, bin, strings.TrimPrefix(s.endpoint, "http://"))

	cluster := s.e.cluster
	running := s.runBusy(t)
	huge := s.e.file("huge.json", `{"family": "huge", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 1000000, "command": ["sleep", "60"]}]}`)
	if out, err := exec.Command(s.e.bin, "task", "run", huge, "--cluster", cluster, "--launch-type", "EC2", "--endpoint", s.endpoint).CombinedOutput(); err == nil || !strings.Contains(string(out), "RESOURCE:MEMORY") {
		t.Errorf("a task no instance can hold: %v\n%s", err, out)
	}
	// An API error: the cluster is not there.
	if out, err := exec.Command(s.e.bin, "task", "list", "--cluster", cluster+"-gone", "--endpoint", s.endpoint).CombinedOutput(); err == nil || !strings.Contains(string(out), "ClusterNotFoundException") {
		t.Errorf("task list of a cluster that is not there: %v\n%s", err, out)
	}
	stopped := s.runBusy(t)
	s.berth(t, "task", "stop", stopped, "--cluster", cluster)
	s.berth(t, "task", "wait", stopped, "--cluster", cluster, "--status", "STOPPED")

	prom.waitFor(t, fmt.Sprintf(`berth_tasks{cluster=%q, launch_type="EC2", status="RUNNING"} == 1`, cluster))
	prom.waitFor(t, `up{job="berth"} == 1`)
	prom.waitFor(t, `berth_task_stops_total{launch_type="EC2", stop_code="UserInitiated"}`)

	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			prom.waitFor(t, target.Expr)
		}
	}

	s.berth(t, "task", "stop", running, "--cluster", cluster)
	s.berth(t, "task", "wait", running, "--cluster", cluster, "--status", "STOPPED")
	waitContainersGone(t, testenv.Docker(t), "com.amazonaws.ecs.cluster="+cluster)
}

// prometheus is a Prometheus server of the test's own.
type prometheus struct{ url string }

// startPrometheus runs Prometheus with the example configuration, its
// target replaced by target, on a loopback port and a data directory of
// its own; it is stopped when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "monitoring", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), `"127.0.0.1:3185"`) {
		t.Fatalf("examples/monitoring/prometheus.yml no longer scrapes berth's default address:\n%s", example)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(strings.ReplaceAll(string(example), `"127.0.0.1:3185"`, `"`+target+`"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // Prometheus listens there next
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("prometheus's log:\n%s", out)
		}
	})
	return &prometheus{url: "http://" + addr}
}

// waitFor queries Prometheus until the query returns data; the wait
// (scrapes are five seconds apart) guards against a hang, it is no measure
// of speed.
func (p *prometheus) waitFor(t *testing.T, query string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		n, answer, err := p.query(query)
		if err == nil && n > 0 {
			return
		}
		last = answer
		if err != nil {
			last = err.Error()
		}
	}
	t.Errorf("Prometheus returns no data for %s; last answer: %s", query, last)
}

// query runs an instant query through the HTTP API and counts the series
// it returns.
func (p *prometheus) query(query string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string
		Error  string
		Data   struct {
			Result []json.RawMessage
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, "", err
	}
	if answer.Status != "success" {
		return 0, "", fmt.Errorf("query %s: %s", query, answer.Error)
	}
	return len(answer.Data.Result), fmt.Sprintf("%d series", len(answer.Data.Result)), nil
}
