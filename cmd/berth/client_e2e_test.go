package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
