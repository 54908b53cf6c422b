package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The classroom dashboard (examples/monitoring) asks only for metrics berth
// exposes: a renamed metric would leave a panel empty.
func TestTheDashboardQueriesOnlyMetricsBerthExposes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "monitoring", "grafana-dashboard.json"))
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
	m := New(fixed(cluster(1)), Labels{Operations: []string{"RunTask"}})
	m.TaskEntered("EC2", "RUNNING", "PENDING", time.Second)
	m.TaskRunning("EC2", time.Second)
	m.TaskStopped("EC2", "UserInitiated")
	m.Placed("EC2", "RESOURCE:CPU")
	m.APIRequest("RunTask", "", time.Millisecond)
	m.AgentHeartbeat("class")
	m.AgentAssignmentsSent("class", 1)
	m.AgentAssignmentAcknowledged("class")
	m.AgentAssignmentsRedelivered("class", 1)
	m.AgentDisconnected("class", DisconnectDropped)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	for _, f := range families {
		exposed[f.GetName()] = true
	}
	name := regexp.MustCompile(`berth_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				queried++
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					n = strings.TrimSuffix(n, suffix)
				}
				if !exposed[n] {
					t.Errorf("panel %q queries %s, which berth does not expose", p.Title, n)
				}
			}
		}
	}
	if queried == 0 {
		t.Error("the dashboard queries no berth metric")
	}
}
