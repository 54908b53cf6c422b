package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
)

// berth events prints one line a change, in columns: tasks with their
// family:revision, last → desired status and stop reason; instances with
// their status.
func TestEventsTable(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	task := func(sec int, last, desired, reason string) api.Event {
		detail, _ := json.Marshal(map[string]string{
			"taskArn":           "arn:aws:ecs:us-east-1:000000000000:task/class/4f92f45fe1634d13c1cae895fc0d8d08",
			"taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3",
			"lastStatus":        last, "desiredStatus": desired, "stoppedReason": reason,
		})
		return api.Event{DetailType: api.DetailTypeTask, Time: at.Add(time.Duration(sec) * time.Second), Detail: detail}
	}
	instance := func(sec int, status string) api.Event {
		detail, _ := json.Marshal(map[string]string{
			"containerInstanceArn": "arn:aws:ecs:us-east-1:000000000000:container-instance/class/a67e384acd60c1d11000bb8537d9b171",
			"status":               status,
		})
		return api.Event{DetailType: api.DetailTypeInstance, Time: at.Add(time.Duration(sec) * time.Second), Detail: detail}
	}
	events := []api.Event{
		instance(0, "ACTIVE"),
		task(1, "PENDING", "RUNNING", ""),
		task(2, "RUNNING", "RUNNING", ""),
		task(9, "RUNNING", "STOPPED", "Task stopped by user"),
		task(10, "STOPPED", "STOPPED", "Task stopped by user"),
		instance(12, "DRAINING"),
		{DetailType: "Something Else", Time: at.Add(13 * time.Second)},
	}
	var b strings.Builder
	b.WriteString(eventHeader + "\n")
	for _, e := range events {
		b.WriteString(eventLine(e) + "\n")
	}
	checkGolden(t, filepath.Join("testdata", "events.golden"), b.String())
}

// berth task logs prints a task of several containers as berth run does,
// each line under its container's name, standard error's apart; a single
// container's lines as they are.
func TestTaskLogsPrinting(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.UTC)
	lines := []client.LogLine{
		{Time: at, Container: "web", Stream: "stdout", Line: "listening on :8080"},
		{Time: at.Add(time.Second), Container: "sidecar", Stream: "stderr", Line: "warning: no config"},
		{Time: at.Add(2 * time.Second), Container: "web", Stream: "stdout", Line: "GET / 200"},
	}
	for _, tt := range []struct {
		name       string
		names      []string
		timestamps bool
	}{
		{"several", []string{"web", "sidecar"}, false},
		{"several-timestamps", []string{"web", "sidecar"}, true},
		{"one", []string{"web"}, false},
		{"one-timestamps", []string{"web"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			print := newLogPrinter(&out, &errOut, tt.names, tt.timestamps, false)
			for _, l := range lines {
				if len(tt.names) == 1 && l.Container != tt.names[0] {
					continue
				}
				if err := print(l); err != nil {
					t.Fatal(err)
				}
			}
			checkGolden(t, filepath.Join("testdata", "task-logs-print-"+tt.name+".golden"), "stdout:\n"+out.String()+"stderr:\n"+errOut.String())
		})
	}
}
