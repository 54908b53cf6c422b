package controller_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/scheduler/fargate"
)

// taskServer is a berth server whose controller runs tasks on the real
// engine, as `berth server` does: its metrics at /metrics, counting the
// API requests it serves.
type taskServer struct {
	srv     *server.Server
	ctl     *controller.Controller
	metrics *metrics.Metrics
}

func startTaskServer(t *testing.T, dir string, quota int, configure ...func(*controller.Options)) *taskServer {
	t.Helper()
	docker := testenv.Docker(t)
	testenv.HoldVPC(t, docker)
	bin := testenv.EnsureImages(t)
	ts := &taskServer{metrics: metrics.New(nil, controller.MetricLabels())}
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   "127.0.0.1:0",
		StateDir: dir,
		Registry: ts.metrics.Registry,
		NewAPI: func(st *store.Store) http.Handler {
			opts := controller.Options{
				Docker:           func() (engine.Engine, error) { return docker, nil },
				BinaryPath:       bin,
				FargateVCPUQuota: quota,
				CleanupWait:      time.Millisecond,
				Logf:             t.Logf,
				Metrics:          ts.metrics,
			}
			for _, f := range configure {
				f(&opts)
			}
			ts.ctl = controller.New(st, opts)
			ts.metrics.Watch(ts.ctl.MetricsState())
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			mux := api.NewMux(logger)
			ts.ctl.Register(mux)
			return ts.ctl.Handler(ts.metrics.InstrumentAPI(mux), logger)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	if err := ts.ctl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ts
}

// newTaskCluster starts a task server on dir with a cluster of its own,
// named from prefix, whose containers are removed from the engine when the
// test ends, whatever happened.
func newTaskCluster(t *testing.T, dir, prefix string, quota int, configure ...func(*controller.Options)) (*taskServer, *ecs.Client, string) {
	t.Helper()
	cluster := prefix + "-" + api.NewID()[:8]
	testenv.HoldVPC(t, testenv.Docker(t))
	removeClusterWhenDone(t, cluster)
	ts := startTaskServer(t, dir, quota, configure...)
	c := newClient(t, ts.srv)
	if _, err := c.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	return ts, c, cluster
}

// stop stops the server as SIGTERM does: its tasks keep running.
func (ts *taskServer) stop(t *testing.T) {
	t.Helper()
	stopServer(t, ts.srv)
	ts.ctl.Close()
}

// waitTask polls DescribeTasks until the task's lastStatus is want; the
// wait is a guard against a hang, not a measure of speed.
func waitTask(t *testing.T, c *ecs.Client, cluster, arn, want string) types.Task {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == want {
			return out.Tasks[0]
		}
		if time.Now().After(deadline) {
			if len(out.Tasks) == 1 {
				t.Fatalf("task %s did not reach %s: it is %s, %s", arn, want, aws.ToString(out.Tasks[0].LastStatus), aws.ToString(out.Tasks[0].StoppedReason))
			}
			t.Fatalf("task %s did not reach %s: %+v", arn, want, out.Failures)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func detail(t types.Task, name string) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == name {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// Fargate tasks through the AWS SDK: each gets capacity of its own, an
// address in the subnet named, an ENI, and ECS's Fargate fields; it is
// reached at its address from the host, which its pause container holds,
// whether it was the agent's spare or not; StopTask stops it as the user's;
// a restarted server takes its tasks up again; and what cannot be run is
// refused or comes back in failures, in ECS's words.
func TestFargateTasksRunOnCapacityOfTheirOwn(t *testing.T) {
	dir := t.TempDir()
	ts, c, cluster := newTaskCluster(t, dir, "fargate", 1)
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		// Runs once the server has stopped: its spare went with it.
		if left := containersLabelled(t, docker, "berth.spare-pause=true", "com.amazonaws.ecs.cluster="+cluster); len(left) != 0 {
			t.Errorf("the stopped server left spare pause containers %v", left)
		}
	})
	ctx := context.Background()
	def, err := os.ReadFile(filepath.Join("..", "examples", "fargate-web.json"))
	if err != nil {
		t.Fatal(err)
	}
	registerJSON(t, ts.srv, def)
	subnet := fargate.DefaultSubnets("us-east-1")[1]
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet.ID}}}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("fargate-web"),
		LaunchType: types.LaunchTypeFargate, Count: aws.Int32(2), NetworkConfiguration: network, StartedBy: aws.String("class")})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 2 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: %+v %+v", run.Tasks, run.Failures)
	}
	first := run.Tasks[0]
	if aws.ToString(first.LastStatus) != "PROVISIONING" || aws.ToString(first.PlatformVersion) != "1.4.0" || aws.ToString(first.AvailabilityZone) != subnet.AvailabilityZone ||
		aws.ToString(first.CapacityProviderName) != "FARGATE" || first.LaunchType != types.LaunchTypeFargate || detail(first, "subnetId") != subnet.ID ||
		!strings.HasPrefix(detail(first, "networkInterfaceId"), "eni-") {
		t.Errorf("a new Fargate task: %+v", first)
	}

	var addresses []string
	for _, task := range run.Tasks {
		running := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "RUNNING")
		addr := detail(running, "privateIPv4Address")
		if !subnet.CIDR.Contains(mustAddr(t, addr)) || running.Containers[0].NetworkInterfaces[0].PrivateIpv4Address == nil {
			t.Errorf("address %s is not in %s", addr, subnet.CIDR)
		}
		addresses = append(addresses, addr)
		if pause := pauseOf(t, docker, running); pause.addr != addr {
			t.Errorf("the task is at %s, its pause container at %q", addr, pause.addr)
		}
		if code := getWhenListening(t, "http://"+addr+":8080/"); code != 200 {
			t.Errorf("GET http://%s:8080/: %d", addr, code)
		}
	}
	if addresses[0] == addresses[1] {
		t.Errorf("two tasks share the address %s", addresses[0])
	}

	// The account's quota (1 vCPU here) holds two more 0.25 vCPU tasks, not three.
	more, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("fargate-web"),
		LaunchType: types.LaunchTypeFargate, Count: aws.Int32(3), NetworkConfiguration: network})
	if err != nil {
		t.Fatal(err)
	}
	if len(more.Tasks) != 2 || len(more.Failures) != 1 || aws.ToString(more.Failures[0].Reason) != fargate.ReasonVCPULimit {
		t.Errorf("over the quota: %d tasks, failures %+v", len(more.Tasks), more.Failures)
	}

	// The agent made a spare once the first task ran: one of these takes
	// it, and holds the task's address.
	spareTaken := false
	for _, task := range more.Tasks {
		running := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "RUNNING")
		pause := pauseOf(t, docker, running)
		if addr := detail(running, "privateIPv4Address"); pause.addr != addr || addr == "" {
			t.Errorf("the task is at %s, its pause container at %q", addr, pause.addr)
		}
		if code := getWhenListening(t, "http://"+pause.addr+":8080/"); code != 200 {
			t.Errorf("GET http://%s:8080/: %d", pause.addr, code)
		}
		spareTaken = spareTaken || pause.spare
	}
	if !spareTaken {
		t.Error("no task took the Fargate agent's spare pause container")
	}
	// A restarted server takes its tasks up again: same containers, still RUNNING.
	before := waitTask(t, c, cluster, aws.ToString(first.TaskArn), "RUNNING")
	ts.stop(t)
	ts = startTaskServer(t, dir, 1)
	defer ts.stop(t)
	c = newClient(t, ts.srv)
	after := waitTask(t, c, cluster, aws.ToString(first.TaskArn), "RUNNING")
	if aws.ToString(after.Containers[0].RuntimeId) != aws.ToString(before.Containers[0].RuntimeId) {
		t.Errorf("the restart replaced the task's container")
	}

	all := append(run.Tasks, more.Tasks...)
	for _, task := range all {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: task.TaskArn, Reason: aws.String("class is over")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range all {
		stopped := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "STOPPED")
		if stopped.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopped.StoppedReason) != "class is over" {
			t.Errorf("a stopped task: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
		}
	}
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: types.DesiredStatusStopped})
	if err != nil || len(list.TaskArns) != 4 {
		t.Errorf("ListTasks STOPPED: %v %v", list, err)
	}
}

// taskPause is a task's pause container as the engine has it.
type taskPause struct {
	addr  string // on berth's VPC network
	spare bool   // it was the agent's spare
}

// pauseOf inspects the pause container whose namespaces the task's first
// container joins.
func pauseOf(t *testing.T, docker engine.Engine, task types.Task) taskPause {
	t.Helper()
	ctx := context.Background()
	ctr, err := docker.ContainerInspect(ctx, aws.ToString(task.Containers[0].RuntimeId))
	if err != nil {
		t.Fatalf("inspect the task's container: %v", err)
	}
	id, ok := strings.CutPrefix(string(ctr.HostConfig.NetworkMode), "container:")
	if !ok {
		t.Fatalf("the task's container is in network mode %s, not a pause container's", ctr.HostConfig.NetworkMode)
	}
	pause, err := docker.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("inspect the pause container: %v", err)
	}
	var p taskPause
	if ep := pause.NetworkSettings.Networks[controller.VPCNetwork]; ep != nil {
		p.addr = ep.IPAddress
	}
	p.spare = pause.Config.Labels["berth.spare-pause"] == "true"
	return p
}

// containersLabelled lists the IDs of the engine's containers carrying
// every label given as key=value.
func containersLabelled(t *testing.T, docker engine.Engine, labels ...string) []string {
	t.Helper()
	args := filters.NewArgs()
	for _, l := range labels {
		args.Add("label", l)
	}
	list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address %q: %v", s, err)
	}
	return a
}

// registerJSON registers a task definition as the aws CLI sends one from a
// file: the JSON as it is.
func registerJSON(t *testing.T, srv *server.Server, def []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/", bytes.NewReader(def))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
}

// RunTask refuses, in ECS's words, what it cannot run, and starts nothing.
func TestRunTaskRefusesWhatFargateCannotRun(t *testing.T) {
	srv := startServer(t, t.TempDir())
	c := newClient(t, srv)
	ctx := context.Background()
	for _, def := range []string{
		`{"family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "berth/demo"}]}`,
		`{"family": "bridge", "containerDefinitions": [{"name": "a", "image": "berth/demo", "memory": 64}]}`,
	} {
		registerJSON(t, srv, []byte(def))
	}
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	tests := []struct {
		name string
		in   *ecs.RunTaskInput
		want string
	}{
		{"no network configuration", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate},
			"Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"a subnet berth does not have", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123"}}}},
			"The subnet ID 'subnet-0123' does not exist"},
		{"count 11", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, Count: aws.Int32(11), NetworkConfiguration: network},
			"count must be between 1 and 10"},
		{"a definition not compatible with Fargate", &ecs.RunTaskInput{TaskDefinition: aws.String("bridge"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network},
			"Task definition does not support launch_type FARGATE."},
		{"a launch type and a strategy", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}},
			"Specifying both a launch type and capacity provider strategy is not supported."},
		{"an unknown definition", &ecs.RunTaskInput{TaskDefinition: aws.String("nowhere"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network},
			"Unable to find task definition"},
		{"an unknown cluster", &ecs.RunTaskInput{Cluster: aws.String("nowhere"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network},
			"ClusterNotFoundException"},
		{"ECS Exec", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network, EnableExecuteCommand: true},
			"enableExecuteCommand: berth runs no ECS Exec agent"},
		{"an EBS volume", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network,
			VolumeConfigurations: []types.TaskVolumeConfiguration{{Name: aws.String("data")}}},
			"volumeConfigurations: berth provisions no Amazon EBS volumes"},
		{"an EC2 task in a subnet berth does not have", &ecs.RunTaskInput{TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeEc2,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123"}}}},
			"The subnet ID 'subnet-0123' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RunTask(ctx, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	// A refused RunTask records nothing, not even the default cluster.
	if d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Errorf("the default cluster after refusals: %+v %v", d, err)
	}
	createCluster(t, c, &ecs.CreateClusterInput{})
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{})
	if err != nil || len(list.TaskArns) != 0 {
		t.Errorf("tasks after refusals: %v %v", list, err)
	}
	var notFound *types.InvalidParameterException
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String("0123456789abcdef0123456789abcdef")}); !errors.As(err, &notFound) {
		t.Errorf("StopTask of an unknown task: %v", err)
	}
}

// getWhenListening GETs url once something listens there: a RUNNING
// container's server may take a moment to bind its port. The wait is a
// guard, not a measure of speed.
func getWhenListening(t *testing.T, url string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("reach the task: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two berth servers on one engine would give the same Fargate address
// twice: the second refuses, naming why, while the first's tasks run.
func TestASecondServerOnTheEngineDoesNotShareTheVPC(t *testing.T) {
	cluster := "two-" + api.NewID()[:8]
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
	})
	ctx := context.Background()
	def, err := os.ReadFile(filepath.Join("..", "examples", "fargate-web.json"))
	if err != nil {
		t.Fatal(err)
	}
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	var arns []string
	var clients []*ecs.Client
	for range 2 {
		ts := startTaskServer(t, t.TempDir(), 6)
		defer ts.stop(t)
		c := newClient(t, ts.srv)
		if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
			t.Fatal(err)
		}
		registerJSON(t, ts.srv, def)
		run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("fargate-web"),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network})
		if err != nil || len(run.Tasks) != 1 {
			t.Fatalf("RunTask: %+v %v", run, err)
		}
		arns = append(arns, aws.ToString(run.Tasks[0].TaskArn))
		clients = append(clients, c)
		if len(arns) == 1 {
			waitTask(t, c, cluster, arns[0], "RUNNING")
		}
	}
	second := waitTask(t, clients[1], cluster, arns[1], "STOPPED")
	if !strings.Contains(aws.ToString(second.StoppedReason), "in use by another berth server on this engine") {
		t.Errorf("the second server's task: %q", aws.ToString(second.StoppedReason))
	}
	if first := waitTask(t, clients[0], cluster, arns[0], "RUNNING"); first.StopCode != "" {
		t.Errorf("the first server's task was stopped: %s", first.StopCode)
	}
	clients[0].StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arns[0])})
	waitTask(t, clients[0], cluster, arns[0], "STOPPED")
}
