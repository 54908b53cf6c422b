package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// berth server answers on its address, holds its state directory (a berth
// run on the same state runs its task through the server instead of
// waiting for the lock), and stops cleanly on SIGTERM, leaving no
// server.json behind.
func TestServerRunsUntilSIGTERMAndBerthRunGoesThroughIt(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	cmd := exec.Command(e.bin, "server", "--listen", "127.0.0.1:0", "--state", e.stateDir, "--cleanup-wait", "1s")
	w := e.start(cmd)
	defer cmd.Process.Kill()
	w.waitFor(t, "listening on http://")
	line := w.String()
	url := strings.Fields(line[strings.Index(line, "http://"):])[0]
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	out, code := e.run(e.file("job.json", jobDef))
	if code != 3 || !strings.Contains(out, "of the berth server at "+url) || !strings.Contains(out, "exiting with code 3") {
		t.Errorf("berth run beside a server: exit %d:\n%s", code, out)
	}
	// The server removes the stopped task's containers after its cleanup wait.
	waitContainersGone(t, testenv.Docker(t), "com.amazonaws.ecs.cluster="+e.cluster)

	cmd.Process.Signal(syscall.SIGTERM)
	e.ended(cmd, w)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("berth server after SIGTERM: exit %d:\n%s", code, w)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "server.json")); !os.IsNotExist(err) {
		t.Errorf("server.json after the server stopped: %v", err)
	}
}

func TestServerRefusesToListenBeyondLoopbackWithoutAToken(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(testenv.BerthBinary(t), "server", "--listen", "0.0.0.0:0", "--state", t.TempDir()).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage || !strings.Contains(string(out), "give a --token") {
		t.Errorf("exit %v:\n%s", err, out)
	}
}

// berth server --help says what the server serves now: every kind of
// thing its API holds, and berth's own endpoints.
func TestServerHelpSaysWhatItServes(t *testing.T) {
	stdout, _, code := executeRoot([]string{"server", "--help"})
	if code != exitOK || strings.Contains(stdout, "so far") {
		t.Errorf("berth server --help, exit %d:\n%s", code, stdout)
	}
	for _, want := range []string{"clusters, task definitions", "container instances", "RunTask, StartTask, StopTask, DescribeTasks", "Fargate",
		"GetLogEvents", "/berth/v1/events", "/berth/v1/agent", "/metrics"} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), want) {
			t.Errorf("berth server --help does not say %q", want)
		}
	}
}

// berth server --prices prices its estimated cost by the table given: an
// m5.large at $600 an hour costs $10 for its first minute in /metrics, and
// berth cost, asking the server, bills by the same table.
func TestServerPricesItsCostByTheTableGiven(t *testing.T) {
	t.Parallel()
	prices := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(prices, []byte(`{"region": "eu-west-1", "takenOn": "2026-11", "source": "the class's own", "ec2Hour": {"m5.large": 600}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newClusterServer(t, "--prices", prices)
	resp, err := http.Get(s.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Billed a minute at least, by the table's $600 an hour; by berth's
	// own, $0.096, it would take the instance over a hundred hours.
	line := lineWith(string(body), `berth_estimated_cost_dollars{launch_type="EC2"} `)
	if dollars, err := strconv.ParseFloat(strings.TrimPrefix(line, `berth_estimated_cost_dollars{launch_type="EC2"} `), 64); err != nil || dollars < 10 {
		t.Errorf("the m5.large at $600 an hour: %q, want $10 or more", line)
	}
	cost := s.berth(t, "cost", "--cluster", s.e.cluster)
	if !strings.Contains(cost, "prices: eu-west-1, taken 2026-11 (the class's own)") || !strings.Contains(cost, "\nEC2           1 instance ") {
		t.Errorf("berth cost of a server with --prices:\n%s", cost)
	}
}
