package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/scheduler/fargate"
)

// serverCluster is the cluster the server rows run their tasks in.
var serverCluster = "bench-server-" + benchRun

// berthServer is a `berth server` process on a state directory of its own
// and a loopback port, with an ECS client of the AWS SDK pointed at it.
type berthServer struct {
	cmd    *exec.Cmd
	url    string
	client *ecs.Client
	done   chan struct{}
	// subnet is the Fargate subnet the tasks ask for: the first zone's,
	// where the server keeps its spare pause container.
	subnet string
	// docker is the engine the server runs its tasks on, where a sample
	// waits for its task's containers to be removed.
	docker client.APIClient
}

// startServer starts `berth server` and waits until it answers. profile,
// when not empty, is where the server writes its CPU profile when it stops.
func startServer(ctx context.Context, docker client.APIClient, berthBinary, stateDir, profile string) (*berthServer, error) {
	args := []string{"server", "--listen", "127.0.0.1:0", "--state", stateDir, "--cleanup-wait", "1ms"}
	if profile != "" {
		args = append(args, "--cpu-profile", profile)
	}
	cmd := exec.Command(berthBinary, args...)
	cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+stateDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &berthServer{cmd: cmd, done: make(chan struct{}), docker: docker}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "berth server: listening on "); ok {
			s.url = strings.Fields(addr)[0]
			break
		}
	}
	go func() { io.Copy(io.Discard, stdout); cmd.Wait(); close(s.done) }()
	if s.url == "" {
		s.stop()
		return nil, fmt.Errorf("berth server did not start: %s", stderr.String())
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDBERTH", "secret", "")),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles(nil),
		config.WithSharedCredentialsFiles(nil),
	)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.client = ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(s.url) })
	return s, nil
}

// stop ends the server as Ctrl-C does (its tasks were stopped before).
func (s *berthServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// prepare makes the cluster, registers one container instance and the
// two task definitions.
func (s *berthServer) prepare(ctx context.Context) error {
	if _, err := s.client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(serverCluster)}); err != nil {
		return err
	}
	if _, err := s.client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(serverCluster),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096},
		}}); err != nil {
		return err
	}
	for _, def := range []string{ec2Task, fargateTask} {
		var in ecs.RegisterTaskDefinitionInput
		if err := json.Unmarshal([]byte(def), &in); err != nil {
			return err
		}
		if _, err := s.client.RegisterTaskDefinition(ctx, &in); err != nil {
			return err
		}
	}
	s.subnet = fargate.DefaultSubnets(controller.DefaultRegion)[0].ID
	return nil
}

// runToRunning is RunTask through the server, timed until DescribeTasks
// says RUNNING; the task is then stopped and waited for, untimed.
func (s *berthServer) runToRunning(family string, launchType types.LaunchType) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		var d time.Duration
		err := s.runTask(ctx, family, launchType, func(arn string, sent time.Time) error {
			err := s.waitFor(ctx, arn, "RUNNING", 5*time.Millisecond)
			d = time.Since(sent)
			return err
		})
		return d, err
	}
}

// recordedRunning is RunTask through the server, timed until the moment
// the task became RUNNING as DescribeTasks' startedAt records it (the
// agent's clock, the machine's), DescribeTasks polled every 100 ms: the
// task's own time to RUNNING, without what a client's polling adds to it
// (the wait for its next poll, and, polling every 5 ms, the polls' own
// work on the machine while the engine starts the container).
func (s *berthServer) recordedRunning(family string, launchType types.LaunchType) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		var d time.Duration
		err := s.runTask(ctx, family, launchType, func(arn string, sent time.Time) error {
			task, err := s.waitTask(ctx, arn, "RUNNING", 100*time.Millisecond)
			if err == nil && task.StartedAt == nil {
				err = fmt.Errorf("task %s is RUNNING without a startedAt", arn)
			}
			if err == nil {
				d = task.StartedAt.Sub(sent)
			}
			return err
		})
		return d, err
	}
}

// runTask runs one task of family through the server and calls wait with
// its ARN and the moment RunTask was sent; the task is then stopped and
// waited for, and its containers for their removal.
func (s *berthServer) runTask(ctx context.Context, family string, launchType types.LaunchType, wait func(arn string, sent time.Time) error) error {
	in := &ecs.RunTaskInput{Cluster: aws.String(serverCluster), TaskDefinition: aws.String(family), LaunchType: launchType}
	if launchType == types.LaunchTypeFargate {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{s.subnet}}}
	}
	// A Fargate task that met another server's tasks says nothing of
	// berth's speed.
	sayNothing := func(err error) error {
		if err != nil && launchType == types.LaunchTypeFargate && (sharedNetwork(err) || strings.Contains(err.Error(), "~internal~ecs~pause was")) {
			return fmt.Errorf("%w: %v", errSkipped, err)
		}
		return err
	}
	sent := time.Now()
	out, err := s.client.RunTask(ctx, in)
	if err != nil {
		return sayNothing(err)
	}
	if len(out.Tasks) != 1 {
		return sayNothing(fmt.Errorf("RunTask: %d tasks, failures %+v", len(out.Tasks), out.Failures))
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	err = sayNothing(wait(arn, sent))
	s.client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(serverCluster), Task: aws.String(arn)})
	if werr := s.waitFor(ctx, arn, "STOPPED", 20*time.Millisecond); err == nil && werr != nil {
		err = werr
	}
	if werr := s.waitRemoved(ctx, arn); err == nil && werr != nil {
		err = werr
	}
	return err
}

// errSkipped marks a run that says nothing of berth's speed: its sample
// is left out, and counted.
var errSkipped = errors.New("skipped")

// sharedNetwork reports a Fargate task that failed because another berth
// server (a test's, say) runs Fargate tasks on the engine's berth-vpc at
// the same time and gave the same address. A task whose pause container
// was killed or removed from outside (another's cleanup) is left out too.
func sharedNetwork(err error) bool {
	return strings.Contains(err.Error(), "Address already in use") || strings.Contains(err.Error(), "in use by another berth server")
}

// waitFor polls DescribeTasks every interval until the task's lastStatus
// is want; a task that stops before fails the wait. What a client that
// watches closely sees is polled for every 5 ms: coarser would add to the
// figure up to the interval, finer would add more of the polls' own load
// (each costs the client and the server some 0.3 ms of CPU each, which a
// two-core machine takes from the engine's start: hence the row timed to
// the recorded startedAt, recordedRunning, beside it).
func (s *berthServer) waitFor(ctx context.Context, arn, want string, interval time.Duration) error {
	_, err := s.waitTask(ctx, arn, want, interval)
	return err
}

// waitTask is waitFor, returning the task as DescribeTasks last gave it.
func (s *berthServer) waitTask(ctx context.Context, arn, want string, interval time.Duration) (types.Task, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := s.client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(serverCluster), Tasks: []string{arn}})
		if err != nil {
			return types.Task{}, err
		}
		if len(out.Tasks) == 1 {
			task := out.Tasks[0]
			status := aws.ToString(task.LastStatus)
			if status == want {
				return task, nil
			}
			if status == "STOPPED" {
				return task, fmt.Errorf("task %s stopped: %s", arn, aws.ToString(task.StoppedReason))
			}
		}
		if time.Now().After(deadline) {
			return types.Task{}, fmt.Errorf("task %s: not %s after 2 minutes", arn, want)
		}
		time.Sleep(interval)
	}
}

// waitRemoved waits, a minute at most, until the engine holds no
// container of the task: the server removes a stopped task's containers
// after its cleanup wait (1 ms here), and a sample ends once they are
// gone, as a baseline's do, so that the removal neither overlaps the next
// sample nor is cut short by the server's stop. A Fargate task's pause
// container, once the agent's spare, carries no task label: any container
// of the cluster that no longer runs is waited for too.
func (s *berthServer) waitRemoved(ctx context.Context, arn string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := s.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", agent.LabelCluster+"="+serverCluster))})
		if err != nil {
			return err
		}
		left := 0
		for _, c := range list {
			if c.Labels[agent.LabelTaskARN] == arn || c.State != "running" {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("task %s: %d containers still on the engine a minute after it stopped", arn, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthy is true once GET /healthz answers 200.
func healthy(url string) bool {
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// fargateSample times a Fargate task through a server of its own, started
// for the sample and stopped after it, so that berth-vpc, which one server
// at a time may run Fargate tasks on, is this benchmark's only for
// seconds: other berth servers on the engine (tests') are waited for. The
// server runs one Fargate task untimed first: its agent starts with it
// and, once it runs, makes the spare pause container a server that has run
// a Fargate task keeps; the second task is timed once the first is gone
// from the engine (its pause container off berth-vpc), as each docker run
// of the baseline starts once the one before is removed: the removal's
// engine calls would otherwise overlap the timed task's.
func fargateSample(berthBinary, root string, docker client.APIClient) func(ctx context.Context) (time.Duration, error) {
	n := 0
	return func(ctx context.Context) (time.Duration, error) {
		n++
		if err := waitVPCFree(ctx, docker); err != nil {
			return 0, fmt.Errorf("%w: %v", errSkipped, err)
		}
		srv, err := startServer(ctx, docker, berthBinary, filepath.Join(root, fmt.Sprintf("fargate-%d", n)), "")
		if err != nil {
			return 0, err
		}
		defer srv.stop()
		if err := srv.prepare(ctx); err != nil {
			return 0, err
		}
		run := srv.runToRunning("bench-fargate", types.LaunchTypeFargate)
		if _, err := run(ctx); err != nil {
			return 0, err
		}
		if err := waitVPCFree(ctx, docker); err != nil {
			return 0, err
		}
		return run(ctx)
	}
}

// comparedSample is fargateSample with another berth binary. Its server
// builds berth's images from its own binary, so afterwards, untimed, they
// are built again from this run's, which the other rows' agents expect:
// otherwise the next row's agent would rebuild them on its timed path.
func comparedSample(binary, berthBinary, root string, docker client.APIClient) func(ctx context.Context) (time.Duration, error) {
	sample := fargateSample(binary, root, docker)
	return func(ctx context.Context) (time.Duration, error) {
		d, err := sample(ctx)
		for _, ref := range []string{images.DemoRef, images.PauseRef} {
			if ierr := images.Ensure(ctx, docker, berthBinary, ref); ierr != nil && err == nil {
				err = ierr
			}
		}
		return d, err
	}
}

// waitVPCFree waits, two minutes at most, until no container is on
// berth-vpc: no other berth server runs Fargate tasks on the engine.
func waitVPCFree(ctx context.Context, docker client.APIClient) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := docker.NetworkInspect(ctx, controller.VPCNetwork, network.InspectOptions{})
		if cerrdefs.IsNotFound(err) || err == nil && len(info.Containers) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s stayed in use by another berth server for 2 minutes", controller.VPCNetwork)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
