package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/taskdef"
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

// fakeEventsServer answers GET /berth/v1/events as a server would, with a
// task's change and an instance's, made as the controller makes them at a
// fixed time; it keeps the cluster it was asked for.
func fakeEventsServer(t *testing.T, asked *string) string {
	t.Helper()
	n := api.Namer{Region: "us-east-1", AccountID: "000000000000"}
	at := time.Date(2020, 1, 23, 17, 57, 58, 948_123_456, time.UTC)
	exit, port, hostPort := int32(0), int32(8080), int32(8080)
	task := api.Task{TaskArn: n.Task("class", "c13b4cb40f1f4fe4a2971f76ae5a47ad"), ClusterArn: n.Cluster("class"),
		TaskDefinitionArn: n.TaskDefinition("web", 1), LaunchType: "FARGATE", PlatformVersion: "1.4.0", PlatformFamily: "Linux",
		CapacityProviderName: "FARGATE", CPU: "256", Memory: "512", AvailabilityZone: "us-east-1a", Group: "family:web", StartedBy: "ci",
		LastStatus: "RUNNING", DesiredStatus: "RUNNING", HealthStatus: "HEALTHY", Connectivity: "CONNECTED", Version: 4,
		EphemeralStorage: &api.EphemeralStorage{SizeInGiB: 20}, Tags: []taskdef.Tag{{Key: "course", Value: "ecs-101"}},
		Attributes: []api.Attribute{{Name: "ecs.cpu-architecture", Value: "x86_64"}},
		Attachments: []api.Attachment{{ID: "1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8", Type: "ElasticNetworkInterface", Status: "ATTACHED",
			Details: []taskdef.KeyValuePair{{Name: "subnetId", Value: "subnet-00f53d4b5c4a8cb52"}, {Name: "networkInterfaceId", Value: "eni-0123456789abcdef0"},
				{Name: "macAddress", Value: "0a:0b:0c:0d:0e:0f"}, {Name: "privateIPv4Address", Value: "172.31.0.5"}}}},
		Overrides: &api.TaskOverride{ContainerOverrides: []api.ContainerOverride{{Name: "web"}}},
		Containers: []api.Container{{ContainerArn: n.Container("class", "c13b4cb40f1f4fe4a2971f76ae5a47ad", "cf159fd6-3e3f-4a9e-84f9-66cbe726af01"),
			TaskArn: n.Task("class", "c13b4cb40f1f4fe4a2971f76ae5a47ad"), Name: "web", Image: "berth/demo:latest", LastStatus: "RUNNING",
			RuntimeID: "ad64cbc71c7f", HealthStatus: "HEALTHY", CPU: "0", ExitCode: nil,
			NetworkBindings:   []api.NetworkBinding{{BindIP: "172.31.0.5", ContainerPort: &port, HostPort: &hostPort, Protocol: "tcp"}},
			NetworkInterfaces: []api.NetworkInterface{{AttachmentID: "1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8", PrivateIpv4Address: "172.31.0.5"}}},
			{Name: "init", Image: "berth/demo:latest", LastStatus: "STOPPED", ExitCode: &exit, Reason: "done"}},
		CreatedAt: api.Time(at.Add(-24 * time.Second)), ConnectivityAt: api.Time(at.Add(-20 * time.Second)),
		PullStartedAt: api.Time(at.Add(-6 * time.Second)), PullStoppedAt: api.Time(at.Add(-3 * time.Second)), StartedAt: api.Time(at.Add(-time.Second)),
	}
	reachable := true
	instance := api.ContainerInstance{ContainerInstanceArn: n.ContainerInstance("class", "a67e384acd60c1d11000bb8537d9b171"), Ec2InstanceID: "i-0123456789abcdef0",
		Version: 7, VersionInfo: &api.VersionInfo{AgentVersion: "1.2.0", DockerVersion: "20.10.24"}, Status: "ACTIVE", AgentConnected: true,
		RunningTasksCount: 1, RegisteredAt: api.Time(at.Add(-time.Hour)),
		RegisteredResources: []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 2048}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 3767}},
		RemainingResources:  []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1792}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 3255}},
		Attributes:          []api.Attribute{{Name: "ecs.availability-zone", Value: "us-east-1a"}},
		BerthAgent:          &api.InstanceAgent{Runs: "agent", Host: "vm", EngineReachable: &reachable, LastHeartbeat: api.Time(at)},
		Tags:                []taskdef.Tag{{Key: "team", Value: "web"}}}
	event := func(detailType, resource string, detail any) api.Event {
		body, err := json.Marshal(detail)
		if err != nil {
			t.Fatal(err)
		}
		return api.Event{Version: "0", ID: "3317b2af-7005-947d-b652-f55e762e571a", DetailType: detailType, Source: "aws.ecs", Account: "000000000000",
			Time: at, Region: "us-east-1", Resources: []string{resource}, Detail: body}
	}
	events := []api.Event{
		event(api.DetailTypeTask, task.TaskArn, api.NewTaskStateChange(&task, at)),
		event(api.DetailTypeInstance, instance.ContainerInstanceArn, api.NewContainerInstanceStateChange(&instance, n.Cluster("class"), at)),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/berth/v1/events" {
			http.NotFound(w, r)
			return
		}
		*asked = r.URL.Query().Get("cluster")
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, e := range events {
			enc.Encode(e)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// berth events -o json prints each change as EventBridge delivers it:
// the envelope's time in whole seconds, the detail's times as ISO-8601
// strings with milliseconds, an ENI attachment of type "eni", updatedAt,
// and nothing of berth's own (an instance's berthAgent, a task's tags or
// health). The table has the same two changes, one line each.
func TestEventsPrintEventBridgesShape(t *testing.T) {
	var asked string
	endpoint := fakeEventsServer(t, &asked)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"events-json", []string{"events", "-o", "json"}},
		{"events-cluster", []string{"events", "--cluster", "class"}},
	} {
		t.Run(tt.name, func(t *testing.T) { checkClientGolden(t, endpoint, tt.name, tt.args) })
	}
	if asked != "class" {
		t.Errorf("events --cluster class asked for cluster %q", asked)
	}
	// Each line reads back as the event it is.
	stdout, _, _ := executeRoot([]string{"events", "-o", "json", "--endpoint", endpoint})
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var task struct {
		Time   string              `json:"time"`
		Detail api.TaskStateChange `json:"detail"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &task); err != nil || task.Time != "2020-01-23T17:57:58Z" ||
		task.Detail.UpdatedAt.Format(time.RFC3339Nano) != "2020-01-23T17:57:58.948Z" || task.Detail.Attachments[0].Type != "eni" {
		t.Errorf("the task's event: %+v, %v", task, err)
	}
	if strings.Contains(lines[1], "berthAgent") || !strings.Contains(lines[1], `"clusterArn":"arn:aws:ecs:us-east-1:000000000000:cluster/class"`) {
		t.Errorf("the instance's event: %s", lines[1])
	}
}
