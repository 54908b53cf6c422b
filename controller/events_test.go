package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
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

// The event log keeps the latest EventHistory events, in order, whatever
// number came before: a reader from any point gets those it still keeps
// from there on, as from a log that kept every event and dropped the
// oldest.
func TestTheEventLogKeepsTheLatestInOrder(t *testing.T) {
	for _, added := range []int{0, 1, EventHistory - 1, EventHistory, EventHistory + 1, 2*EventHistory + 7} {
		l := newEventLog()
		var all []string
		for n := range added {
			all = append(all, strconv.Itoa(n))
			l.add(api.Event{ID: all[n]})
		}
		oldest := max(0, added-EventHistory)
		for _, from := range []int{0, 1, oldest, oldest + 1, added / 2, added - 1, added, added + 5} {
			from = max(from, 0)
			events, end, _ := l.read(uint64(from))
			got := make([]string, len(events))
			for i, e := range events {
				got[i] = e.ID
			}
			want := all[min(max(from, oldest), added):]
			if end != uint64(added) || !slices.Equal(got, want) {
				t.Fatalf("%d added, read from %d: %d events (%v…), end %d; want %d events (%v…), end %d",
					added, from, len(got), got[:min(3, len(got))], end, len(want), want[:min(3, len(want))], added)
			}
		}
	}
}

// BenchmarkEventLogAdd is the cost of keeping one event once the log is
// full, as it is on a server that has run a hundred tasks or so.
func BenchmarkEventLogAdd(b *testing.B) {
	l := newEventLog()
	for range EventHistory {
		l.add(api.Event{ID: "warm"})
	}
	e := api.Event{ID: "e", DetailType: api.DetailTypeTask, Resources: []string{"arn"}, Detail: []byte(`{}`)}
	for b.Loop() {
		l.add(e)
	}
}
