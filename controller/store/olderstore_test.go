package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// olderStoreTasks are the tasks the stores in testdata hold, as berth
// wrote them with CreateTasks of these: bodies-as-json.db at 4fb52be,
// before bodies were packed, so each body is stored as its JSON under its
// task's key; bodies-packed-by-task-key.db at ee1d6d5, before bodies took
// keys of their own, so each is stored packed under its task's key.
func olderStoreTasks() []Task {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var tasks []Task
	for i, cluster := range []string{"default", "default", "default", "web"} {
		id := fmt.Sprintf("%032x", 0xbe7a0+i)
		arn := "arn:aws:ecs:us-east-1:000000000000:task/" + cluster + "/" + id
		body := map[string]any{"taskArn": arn, "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "launchType": "FARGATE",
			"containers": []map[string]any{
				{"name": "web", "taskArn": arn, "runtimeId": id + id, "image": "berth/demo:latest", "lastStatus": "RUNNING"},
				{"name": "sidecar", "taskArn": arn, "runtimeId": id + id, "image": "berth/demo:latest", "lastStatus": "RUNNING"},
			},
			"overrides": map[string]any{"containerOverrides": []any{}}, "note": strings.Repeat("x", i*300)}
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		tasks = append(tasks, Task{Cluster: cluster, ID: id, Family: "web", LaunchType: "FARGATE", LastStatus: "RUNNING",
			DesiredStatus: "RUNNING", CreatedAt: at, StatusSince: at, Version: 3, Body: raw, Runtime: json.RawMessage(`{"cpu":256}`)})
	}
	// A task with no body, as a store may hold.
	return append(tasks, Task{Cluster: "web", ID: "nobody", Family: "web", LaunchType: "EC2", LastStatus: "PENDING",
		DesiredStatus: "RUNNING", CreatedAt: at, Version: 1})
}
