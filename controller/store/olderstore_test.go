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

// olderStoreInstances are the container instances testdata's
// instances-unindexed.db holds, as berth wrote them at b6b3a81, before the
// instance indexes: registered in this order with RegisterContainerInstance
// at epoch (after CreateCluster of web), so that they have 127.0.0.2 to
// 127.0.0.8, then agent-4 deregistered.
func olderStoreInstances() []ContainerInstance {
	agent := func(key string) *RemoteAgent {
		return &RemoteAgent{Host: "lab", Engine: "unix:///var/run/docker.sock", EngineReachable: true, EngineAPIVersion: "1.41", RegistrationKey: key}
	}
	res := Resources{CPU: 2048, MemoryMiB: 3936}
	return []ContainerInstance{
		{Cluster: DefaultCluster, ID: "local-a", Registered: res},
		{Cluster: DefaultCluster, ID: "agent-1", Registered: res, Agent: agent("key-1")},
		{Cluster: DefaultCluster, ID: "agent-2", Registered: res, Agent: agent("key-2")},
		{Cluster: DefaultCluster, ID: "agent-3", Registered: res, Agent: agent("key-3")},
		{Cluster: DefaultCluster, ID: "agent-4", Registered: res, Agent: agent("key-4")},
		{Cluster: "web", ID: "web-1", Registered: res, Agent: agent("key-1")},
		{Cluster: "web", ID: "web-2", Registered: res},
	}
}
