package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
)

// A task's change is sent as EventBridge delivers an ECS Task State
// Change: the envelope's time in whole seconds, the detail's times as
// ISO-8601 strings with milliseconds, updatedAt the time of the change, an
// ENI attachment of type "eni", and none of what the event leaves out
// (tags, health).
func TestATaskChangeIsSentInTheEventsShape(t *testing.T) {
	at := time.Date(2020, 1, 23, 17, 57, 58, 948_000_000, time.UTC)
	st := reportsStore(t, filepath.Join(t.TempDir(), "state.db"), []string{"1"}, func(string) bool { return true })
	defer st.Close()
	c := New(st, Options{Now: func() time.Time { return at }, Logf: t.Logf})
	defer c.Close()
	namer := api.Namer{Region: DefaultRegion, AccountID: DefaultAccountID}
	arn := namer.Task("c", "1")
	if err := c.observe("c", lifeReports(arn)[3]); err != nil { // RUNNING
		t.Fatal(err)
	}
	var events []api.Event
	c.Events(context.Background(), time.Time{}, false, func(e api.Event) error { events = append(events, e); return nil })
	if len(events) == 0 {
		t.Fatal("no event of the task's change")
	}
	raw, err := json.Marshal(events[len(events)-1])
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		DetailType string         `json:"detail-type"`
		Time       string         `json:"time"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.DetailType != api.DetailTypeTask || got.Time != "2020-01-23T17:57:58Z" || len(got.Resources) != 1 || got.Resources[0] != arn {
		t.Errorf("the envelope: %s", raw)
	}
	d := got.Detail
	attachments, _ := d["attachments"].([]any)
	if d["updatedAt"] != "2020-01-23T17:57:58.948Z" || d["startedAt"] != "2023-11-14T22:15:00.000Z" ||
		len(attachments) != 1 || attachments[0].(map[string]any)["type"] != "eni" || d["taskArn"] != arn {
		t.Errorf("the detail: %s", raw)
	}
	for _, left := range []string{"tags", "healthStatus", "enableExecuteCommand"} {
		if _, ok := d[left]; ok {
			t.Errorf("the detail has %s, which ECS's event has not: %s", left, raw)
		}
	}
}

// An instance of the server's own engine has the server's version as its
// agent's; one registered with a version of its own keeps it.
func TestLocalInstancesHaveTheServersAgentVersion(t *testing.T) {
	st := reportsStore(t, filepath.Join(t.TempDir(), "state.db"), nil, func(string) bool { return false })
	defer st.Close()
	c := New(st, Options{Version: "1.4.2", Logf: t.Logf})
	defer c.Close()
	size := []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 512}}
	for _, tt := range []struct {
		given *api.VersionInfo
		want  string
	}{{nil, "1.4.2"}, {&api.VersionInfo{AgentVersion: "1.80.0"}, "1.80.0"}} {
		out, err := c.RegisterContainerInstance(context.Background(), &api.RegisterContainerInstanceInput{Cluster: "c", TotalResources: size, VersionInfo: tt.given})
		if err != nil {
			t.Fatal(err)
		}
		if v := out.ContainerInstance.VersionInfo; v == nil || v.AgentVersion != tt.want {
			t.Errorf("registered with %+v: versionInfo %+v, want agentVersion %s", tt.given, v, tt.want)
		}
	}
}
