package controller_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/demo"
	"github.com/berthdev/berth/internal/crashpoint"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/scheduler/fargate"
)

// berthProcess is a `berth server` process of the built binary, which a
// test stops as a person or a crash would: SIGTERM or SIGKILL.
type berthProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	exited chan error

	mu  sync.Mutex
	out strings.Builder // its standard output and error
}

// startBerthProcess starts `berth server` on a free loopback port over the
// state directory dir, with flags more, and waits until it listens. One
// still running when the test ends is killed.
func startBerthProcess(t *testing.T, dir string, more ...string) *berthProcess {
	t.Helper()
	bin := testenv.EnsureImages(t)
	p := &berthProcess{t: t, exited: make(chan error, 1)}
	var env []string
	args := []string{"server", "--listen", "127.0.0.1:0", "--state", dir}
	for _, m := range more {
		if e, ok := strings.CutPrefix(m, envArg); ok {
			env = append(env, e)
			continue
		}
		args = append(args, m)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if _, rest, ok := strings.Cut(line, "listening on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				urls <- url
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.stop(syscall.SIGTERM)
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.exited:
		t.Fatalf("berth server exited before listening: %v\n%s", err, p.output())
	case <-time.After(time.Minute):
		t.Fatalf("berth server said nowhere where it listens\n%s", p.output())
	}
	return p
}

// envArg marks an argument of startBerthProcess that is an environment
// variable of the process (withEnv), not a flag.
const envArg = "\x00env:"

// withEnv is an argument of startBerthProcess setting NAME=VALUE in the
// process's environment.
func withEnv(nameValue string) string { return envArg + nameValue }

// died waits for the process to end by itself, killed (at its crash point).
func (p *berthProcess) died() {
	p.t.Helper()
	select {
	case err := <-p.exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			p.t.Fatalf("berth server ended with %v, want killed\n%s", err, p.output())
		}
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("berth server did not die at its crash point\n%s", p.output())
	}
}

func (p *berthProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends the process sig and waits for it to end.
func (p *berthProcess) stop(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal berth server: %v", err)
	}
	select {
	case err := <-p.exited:
		if sig == syscall.SIGTERM && err != nil {
			p.t.Errorf("berth server exited with %v after SIGTERM\n%s", err, p.output())
		}
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		p.t.Fatalf("berth server did not end on %v\n%s", sig, p.output())
	}
}

// client is the AWS SDK's ECS client of the process.
func (p *berthProcess) client() *ecs.Client { return clientAt(p.t, p.url) }

// taskCluster makes a cluster of its own on the process, named from
// prefix, whose containers, networks and volumes are removed from the
// engine when the test ends, whatever happened.
func taskCluster(t *testing.T, c *ecs.Client, prefix string) string {
	t.Helper()
	cluster := prefix + "-" + api.NewID()[:8]
	removeClusterWhenDone(t, cluster)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	return cluster
}

// removeClusterWhenDone removes the containers, networks and volumes of
// cluster from the engine when the test ends, whatever happened.
func removeClusterWhenDone(t *testing.T, cluster string) {
	t.Helper()
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The server's own cleanup (its cleanup wait is short) may be
		// removing the same containers: what either leaves is removed.
		if err := testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster); err != nil {
			t.Logf("clean up: %v", err)
		}
	})
}

// describeDemo GETs the demo server's /json page, which it fills with what
// its container reads at its task metadata endpoint at that moment.
func describeDemo(t *testing.T, url string) demo.Description {
	t.Helper()
	getWhenListening(t, url)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page demo.Description
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return page
}

// A recovered task's container reads its task metadata endpoint at the URL
// it was started with, after berth server stops cleanly (SIGTERM) and after
// it is killed (SIGKILL): the next server's agent listens at the same
// address and port, which the store keeps.
func TestTheTaskMetadataEndpointAnswersAtTheSameURLAfterTheServerRestarts(t *testing.T) {
	dir := t.TempDir()
	p := startBerthProcess(t, dir, "--cleanup-wait", "1s")
	c := p.client()
	ctx := context.Background()
	cluster := taskCluster(t, c, "metadata")
	registerInstance(t, c, sized(cluster))
	register(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("reader"), ContainerDefinitions: []types.ContainerDefinition{{
		Name: aws.String("web"), Image: aws.String("berth/demo:latest"), Memory: aws.Int32(64), StopTimeout: aws.Int32(2),
		Command: []string{"serve", "--port", "8080"}, PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
	}}})
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("reader")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", run, err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	running := waitTask(t, c, cluster, arn, "RUNNING")
	b := running.Containers[0].NetworkBindings[0]
	page := fmt.Sprintf("http://%s:%d/json", aws.ToString(b.BindIP), aws.ToInt32(b.HostPort))

	first := describeDemo(t, page)
	uriV4, uriV3 := first.Environment[agent.EnvMetadataURIV4], first.Environment[agent.EnvMetadataURIV3]
	if uriV4 == "" || uriV3 == "" {
		t.Fatalf("the container has no metadata URIs; its environment: %v", first.Environment)
	}
	for _, restart := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		p.stop(restart)
		p = startBerthProcess(t, dir, "--cleanup-wait", "1s")
		c = p.client()
		waitTask(t, c, cluster, arn, "RUNNING")
		// The server answers the API before its agents have started:
		// the endpoint comes up with the instance's agent.
		md := describeDemo(t, page).Metadata
		for deadline := time.Now().Add(30 * time.Second); md != nil && md.Error != "" && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			md = describeDemo(t, page).Metadata
		}
		switch {
		case md == nil:
			t.Fatalf("after %v: the container shows no metadata", restart)
		case md.URI != uriV4:
			t.Errorf("after %v: the container's URI is %s, was %s", restart, md.URI, uriV4)
		case md.Error != "":
			t.Errorf("after %v: the container could not read its metadata at %s: %s\n%s", restart, md.URI, md.Error, p.output())
		case md.Task["TaskARN"] != arn || md.Task["KnownStatus"] != "RUNNING" || md.Container["Name"] != "web":
			t.Errorf("after %v: the container read task %v, container %v", restart, md.Task, md.Container)
		}
		var v3 map[string]any
		getJSON(t, uriV3+"/task", &v3)
		if v3["TaskARN"] != arn {
			t.Errorf("after %v: %s/task answers %v", restart, uriV3, v3)
		}
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, arn, "STOPPED")
}

// getJSON GETs url and decodes its JSON answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// berth server killed (SIGKILL) while it starts 20 tasks, EC2 and Fargate,
// and started again: every task ends RUNNING or STOPPED with a reason;
// every container of the cluster on the engine belongs to a task the store
// knows; no container of a task was made twice; and a StopTask under way at
// the kill finishes after the restart with its stop code and reason.
// vpcTaken explains the Fargate tasks a test cannot check: one berth server
// at a time runs Fargate tasks on an engine.
const vpcTaken = "another berth server holds berth's VPC network on this engine"

func TestServerKilledWhileStartingTasksTakesThemUpWhole(t *testing.T) {
	// Its Fargate tasks are on berth's VPC network, whose holders remove
	// what servers left there when they end: without holding it, another
	// package's test removed these tasks' containers as it ended.
	testenv.HoldVPC(t, testenv.Docker(t))
	dir := t.TempDir()
	p := startBerthProcess(t, dir)
	c := p.client()
	ctx := context.Background()
	cluster := taskCluster(t, c, "crash")
	for range 2 {
		registerInstance(t, c, sized(cluster))
	}
	// The task stopped at the kill ignores SIGTERM: its stop lasts its
	// stopTimeout, so it cannot have finished before the kill.
	register(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("crash"), ContainerDefinitions: []types.ContainerDefinition{{
		Name: aws.String("app"), Image: aws.String("berth/demo:latest"), Memory: aws.Int32(32), StopTimeout: aws.Int32(5),
		Command: []string{"sleep", "infinity", "--ignore-sigterm"},
	}}})
	register(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("crash-fargate"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("berth/demo:latest"), StopTimeout: aws.Int32(2),
			Command: []string{"sleep", "infinity"}}}})
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	runs := []*ecs.RunTaskInput{
		{Cluster: aws.String(cluster), TaskDefinition: aws.String("crash"), Count: aws.Int32(8)},
		{Cluster: aws.String(cluster), TaskDefinition: aws.String("crash"), Count: aws.Int32(8)},
		{Cluster: aws.String(cluster), TaskDefinition: aws.String("crash-fargate"), Count: aws.Int32(4), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network},
	}
	var mu sync.Mutex
	var arns, ec2 []string
	var wg sync.WaitGroup
	for _, in := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.RunTask(ctx, in)
			if err != nil || len(out.Failures) > 0 {
				t.Errorf("RunTask %s: %v %+v", aws.ToString(in.TaskDefinition), err, out)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, task := range out.Tasks {
				arns = append(arns, aws.ToString(task.TaskArn))
				if task.LaunchType == types.LaunchTypeEc2 {
					ec2 = append(ec2, aws.ToString(task.TaskArn))
				}
			}
		}()
	}
	wg.Wait()
	if len(arns) != 20 {
		t.Fatalf("RunTask started %d tasks, want 20", len(arns))
	}
	stopped := ec2[0] // from the first EC2 RunTask to answer
	// The kill comes once the first container is made: some tasks have
	// containers then, others are on their way to them.
	docker := testenv.Docker(t)
	ofCluster := container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		made, err := docker.ContainerList(ctx, ofCluster)
		if err != nil {
			t.Fatal(err)
		}
		if len(made) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no container of the tasks was made\n%s", p.output())
		}
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(stopped), Reason: aws.String("stopped at the crash")}); err != nil {
		t.Fatal(err)
	}
	p.stop(syscall.SIGKILL)
	if atKill, err := docker.ContainerList(ctx, ofCluster); err == nil {
		t.Logf("at the kill, the engine held %d containers of the 20 tasks", len(atKill))
	}

	t.Logf("the server starts again at %s", time.Now().UTC().Format(time.RFC3339Nano))
	p = startBerthProcess(t, dir)
	c = p.client()
	final := map[string]types.Task{}
	for deadline := time.Now().Add(3 * time.Minute); len(final) < len(arns); time.Sleep(200 * time.Millisecond) {
		for _, arn := range arns {
			if _, done := final[arn]; done {
				continue
			}
			d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
			if err != nil || len(d.Tasks) != 1 {
				t.Fatalf("DescribeTasks %s after the restart: %v %+v", arn, err, d)
			}
			task := d.Tasks[0]
			if task.LaunchType == types.LaunchTypeFargate && strings.Contains(p.output(), "in use by another berth server") {
				// Another berth server on the engine (another test's) holds
				// berth's VPC: the Fargate tasks wait for it to let go.
				t.Logf("Fargate task %s is not checked: %s", arn, vpcTaken)
				final[arn] = task
				continue
			}
			if last := aws.ToString(task.LastStatus); last == "STOPPED" || last == "RUNNING" && arn != stopped {
				final[arn] = task
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart, %d of %d tasks are RUNNING or STOPPED\n%s", len(final), len(arns), p.output())
		}
	}
	for arn, task := range final {
		if aws.ToString(task.LastStatus) == "STOPPED" && (task.StopCode == "" || aws.ToString(task.StoppedReason) == "") {
			t.Errorf("task %s is STOPPED with stop code %q and reason %q", arn, task.StopCode, aws.ToString(task.StoppedReason))
		}
	}
	if s := final[stopped]; s.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(s.StoppedReason) != "stopped at the crash" {
		t.Errorf("the task stopped at the crash: %s, stop code %q, reason %q", aws.ToString(s.LastStatus), s.StopCode, aws.ToString(s.StoppedReason))
	}

	checkEngineHoldsTheTasks(t, cluster, final)
	running := 0
	for arn, task := range final {
		if aws.ToString(task.LastStatus) == "RUNNING" {
			running++
		} else {
			t.Logf("%s %s: %s (%s)", task.LaunchType, arn, aws.ToString(task.StoppedReason), task.StopCode)
			for _, ctr := range task.Containers {
				t.Logf("  container %s %s: exit code %v, %s", aws.ToString(ctr.Name), aws.ToString(ctr.RuntimeId), aws.ToInt32(ctr.ExitCode), aws.ToString(ctr.Reason))
			}
		}
	}
	t.Logf("after the restart: %d of %d tasks RUNNING, the others STOPPED", running, len(final))
}

// checkEngineHoldsTheTasks checks what the engine holds of cluster: only
// containers of the tasks given (those the store knows), one per container
// of each, and for a RUNNING task the one it names.
func checkEngineHoldsTheTasks(t *testing.T, cluster string, final map[string]types.Task) {
	t.Helper()
	ctx := context.Background()
	docker := testenv.Docker(t)
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))})
	if err != nil {
		t.Fatal(err)
	}
	made := map[string][]string{} // task ARN/container name: container IDs
	for _, ctr := range list {
		arn := ctr.Labels[agent.LabelTaskARN]
		if arn == "" {
			if ctr.Labels["berth.spare-pause"] != "true" {
				t.Errorf("container %s %v belongs to no task", ctr.ID[:12], ctr.Names)
			}
			continue
		}
		if _, known := final[arn]; !known {
			t.Errorf("container %s %v belongs to task %s, which the store does not know", ctr.ID[:12], ctr.Names, arn)
		}
		key := arn + "/" + ctr.Labels[agent.LabelContainerName]
		made[key] = append(made[key], ctr.ID)
	}
	for key, ids := range made {
		if len(ids) > 1 {
			var made []string
			for _, id := range ids {
				if info, err := docker.ContainerInspect(ctx, id); err == nil {
					made = append(made, fmt.Sprintf("%s %s at %s (%s)", id[:12], info.Name, info.Created, info.State.Status))
				}
			}
			t.Errorf("%s was made %d times: %v", key, len(ids), made)
		}
	}
	for arn, task := range final {
		if aws.ToString(task.LastStatus) != "RUNNING" {
			continue
		}
		for _, ctr := range task.Containers {
			if ids := made[arn+"/"+aws.ToString(ctr.Name)]; len(ids) != 1 || ids[0] != aws.ToString(ctr.RuntimeId) {
				t.Errorf("running task %s's container %s is %s, the engine has %v", arn, aws.ToString(ctr.Name), aws.ToString(ctr.RuntimeId), ids)
			}
		}
	}
}

// berth server killed at each point of starting a task (BERTH_CRASH_AT,
// package crashpoint) and started again: a task not yet recorded is no
// task and left nothing; one whose container was created, or started, runs
// on in that very container, made once.
func TestServerKilledAtEachPointOfStartingATask(t *testing.T) {
	for _, point := range []string{crashpoint.BeforeCommit, crashpoint.AfterCreate, crashpoint.AfterStart} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			setup := startBerthProcess(t, dir)
			c := setup.client()
			cluster := taskCluster(t, c, "crashpoint")
			registerInstance(t, c, sized(cluster))
			register(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("crash"), ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("berth/demo:latest"), Memory: aws.Int32(32), StopTimeout: aws.Int32(2),
				Command: []string{"sleep", "infinity"},
			}}})
			setup.stop(syscall.SIGTERM)

			p := startBerthProcess(t, dir, withEnv(crashpoint.Env+"="+point))
			run := &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("crash"), Count: aws.Int32(2), ClientToken: aws.String("crash-" + point)}
			out, err := p.client().RunTask(ctx, run)
			if point == crashpoint.BeforeCommit {
				if err == nil {
					t.Fatalf("RunTask answered %+v from a server that died before recording the tasks", out)
				}
			} else if err != nil || len(out.Tasks) != 2 {
				t.Fatalf("RunTask: %+v %v", out, err)
			}
			p.died()
			// What the dead server made: the tasks must run on in it.
			docker := testenv.Docker(t)
			atKill, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))})
			if err != nil {
				t.Fatal(err)
			}
			madeBefore := map[string]string{} // task ARN: container ID
			for _, ctr := range atKill {
				madeBefore[ctr.Labels[agent.LabelTaskARN]] = ctr.ID
			}
			if point != crashpoint.BeforeCommit && len(atKill) == 0 {
				t.Fatalf("the server died %s with no container made", point)
			}

			p = startBerthProcess(t, dir)
			c = p.client()
			final := map[string]types.Task{}
			if point == crashpoint.BeforeCommit {
				for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
					list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: status})
					if err != nil || len(list.TaskArns) != 0 {
						t.Errorf("tasks %s after a kill before the commit: %v %v", status, list, err)
					}
				}
			}
			// The client tries again with the RunTask's token, as an SDK
			// does after a failed call: a server that died before
			// recording the tasks starts them now; one that recorded them
			// answers them and starts none.
			retry, err := c.RunTask(ctx, run)
			if err != nil || len(retry.Tasks) != 2 {
				t.Fatalf("RunTask again with its token: %+v %v", retry, err)
			}
			if point == crashpoint.BeforeCommit {
				out = retry
			}
			for i, task := range out.Tasks {
				if aws.ToString(retry.Tasks[i].TaskArn) != aws.ToString(task.TaskArn) {
					t.Errorf("the retry answered task %s, the first call %s", aws.ToString(retry.Tasks[i].TaskArn), aws.ToString(task.TaskArn))
				}
				arn := aws.ToString(task.TaskArn)
				final[arn] = waitTask(t, c, cluster, arn, "RUNNING")
			}
			if list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster)}); err != nil || len(list.TaskArns) != 2 {
				t.Errorf("tasks running after the retry: %v %v, want the 2 of the first call", list, err)
			}
			checkEngineHoldsTheTasks(t, cluster, final)
			for arn, task := range final {
				if id, ok := madeBefore[arn]; ok && aws.ToString(task.Containers[0].RuntimeId) != id {
					t.Errorf("task %s runs in container %s, not in %s, which the server made before it died", arn, aws.ToString(task.Containers[0].RuntimeId), id)
				}
			}
			for arn := range final {
				if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
					t.Fatal(err)
				}
				waitTask(t, c, cluster, arn, "STOPPED")
			}
		})
	}
}
