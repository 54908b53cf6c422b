package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// The CLI drives a real berth server as a person would: clusters and task
// definitions made, listed, described and removed with the built binary.
func TestTheCLIDrivesARealServer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	endpoint := e.startServer()
	berth := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(e.bin, append(args, "--endpoint", endpoint)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := berth("cluster", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("no clusters yet: %s", out)
	}
	berth("cluster", "create", "class", "--tag", "course=ecs-101")
	if out := berth("cluster", "list"); !strings.Contains(out, "class   ACTIVE") {
		t.Errorf("cluster list:\n%s", out)
	}
	if out := berth("cluster", "describe", "class"); !regexp.MustCompile(`(?m)^Tag course: +ecs-101$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Statistic drainingFargateServiceCount:  0$`).MatchString(out) {
		t.Errorf("cluster describe:\n%s", out)
	}
	example := filepath.Join("..", "..", "examples", "one-shot-job.json")
	if out := berth("taskdef", "register", example, example); !strings.Contains(out, "registered one-shot-job:2") {
		t.Errorf("taskdef register:\n%s", out)
	}
	if out := berth("taskdef", "describe", "one-shot-job"); !strings.Contains(out, "Task definition:  one-shot-job:2") || !strings.Contains(out, "Launch types:     EC2, FARGATE") {
		t.Errorf("taskdef describe:\n%s", out)
	}
	// --family is the whole family, as ECS matches familyPrefix.
	if out := berth("taskdef", "list", "--family", "one-shot"); strings.Contains(out, "one-shot-job") {
		t.Errorf("taskdef list --family one-shot lists one-shot-job's revisions:\n%s", out)
	}
	if out := berth("taskdef", "list", "--family", "one-shot-job"); strings.Count(out, "one-shot-job   ") != 2 {
		t.Errorf("taskdef list --family one-shot-job:\n%s", out)
	}
	berth("taskdef", "deregister", "one-shot-job:2")
	if out := berth("taskdef", "list"); !strings.Contains(out, "one-shot-job   1") || strings.Contains(out, "one-shot-job   2") {
		t.Errorf("taskdef list after deregistering revision 2:\n%s", out)
	}
	if out := berth("cluster", "delete", "class"); !strings.Contains(out, "now INACTIVE") {
		t.Errorf("cluster delete:\n%s", out)
	}
	// The server counted what it answered.
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`berth_api_requests_total{error="none",operation="CreateCluster"} 1`,
		`berth_api_requests_total{error="none",operation="RegisterTaskDefinition"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// The built binary, with no server where it looks, says so in one line
// that ends with the command that starts one, and exits 1: the endpoint
// given with --endpoint or with BERTH_ENDPOINT.
func TestTheBinarySaysWhenNoServerAnswers(t *testing.T) {
	t.Parallel()
	bin := testenv.BerthBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, args := range [][]string{{"task", "list"}, {"cluster", "list"}, {"events"}} {
		for _, how := range []string{"--endpoint", "BERTH_ENDPOINT"} {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "BERTH_ENDPOINT=")
			if how == "--endpoint" {
				cmd.Args = append(cmd.Args, "--endpoint", "http://"+addr)
			} else {
				cmd.Env = append(cmd.Env, "BERTH_ENDPOINT="+addr)
			}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			msg := stderr.String()
			if err == nil || code != 1 || stdout.Len() != 0 || strings.Count(msg, "\n") != 1 ||
				!strings.HasPrefix(msg, "berth: no berth server answers at http://"+addr+" ") || !strings.HasSuffix(msg, "; start one with: berth server\n") {
				t.Errorf("berth %s with %s: exit %d, standard output %q, standard error %q", strings.Join(args, " "), how, code, stdout.String(), msg)
			}
		}
	}
}
