// Command startup measures how long a task takes from start to RUNNING
// under berth, beside the same containers started by docker run and by
// docker-compose, interleaved round by round so that every variant sees the
// same machine. It prints the medians and the ratios as a Markdown table.
//
//	go build -o /tmp/berth ./cmd/berth && go run ./bench/startup -berth /tmp/berth -rounds 15
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/taskdef"
)

const benchLabel = "dev.berth.bench"

// The tasks measured. The single-container ones run the same container as
// the docker run baseline; the three-container one matches compose.yaml.
const (
	ec2Task = `{"family": "bench-ec2", "containerDefinitions": [
	  {"name": "web", "image": "berth/demo:latest", "memory": 64, "command": ["serve"],
	   "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}`
	fargateTask = `{"family": "bench-fargate", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
	  "cpu": "256", "memory": "512", "containerDefinitions": [
	  {"name": "web", "image": "berth/demo:latest", "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`
	threeTask = `{"family": "bench-three", "containerDefinitions": [
	  {"name": "init", "image": "berth/demo:latest", "memory": 32, "essential": false, "command": ["exit", "0"]},
	  {"name": "db", "image": "berth/demo:latest", "memory": 64, "command": ["serve", "--port", "8081"]},
	  {"name": "app", "image": "berth/demo:latest", "memory": 64, "command": ["serve"],
	   "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}, {"containerName": "db", "condition": "START"}]}]}`
	composeFile = `version: "2.4"
services:
  init:
    image: berth/demo:latest
    command: ["exit", "0"]
    mem_limit: 32m
    labels: {dev.berth.bench: "true"}
  db:
    image: berth/demo:latest
    command: ["serve", "--port", "8081"]
    mem_limit: 64m
    labels: {dev.berth.bench: "true"}
  app:
    image: berth/demo:latest
    command: ["serve"]
    mem_limit: 64m
    labels: {dev.berth.bench: "true"}
    depends_on:
      init: {condition: service_completed_successfully}
      db: {condition: service_started}
`
)

type variant struct {
	name string
	run  func(ctx context.Context) (time.Duration, error)
}

func main() {
	berthBinary := flag.String("berth", "", "berth binary the images are built from (required)")
	rounds := flag.Int("rounds", 15, "rounds; each runs every variant once, in turn")
	flag.Parse()
	if *berthBinary == "" {
		fmt.Fprintln(os.Stderr, "startup: -berth is required")
		os.Exit(2)
	}
	if err := run(*berthBinary, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

func run(berthBinary string, rounds int) error {
	ctx := context.Background()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer docker.Close()
	// Deferred before the agent's Close, so it runs after it.
	defer testenv.RemoveLabelled(context.Background(), docker, benchLabel+"=true")
	for _, ref := range []string{images.DemoRef, images.PauseRef} {
		if err := images.Ensure(ctx, docker, berthBinary, ref); err != nil {
			return err
		}
	}
	ag, err := agent.New(ctx, agent.Config{Docker: docker, Cluster: "bench", TaskNetwork: "berth-bench-awsvpc", HostIP: "127.0.0.1", BinaryPath: berthBinary, SparePause: true, Labels: map[string]string{benchLabel: "true"}})
	if err != nil {
		return err
	}
	defer ag.Close()
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, content := range map[string]string{"compose.yaml": composeFile, "ec2.json": ec2Task, "fargate.json": fargateTask} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}

	variants := []variant{
		{"docker run -d (1 container)", func(ctx context.Context) (time.Duration, error) {
			return timed(func() error {
				return exec.CommandContext(ctx, "docker", "run", "-d", "--label", benchLabel+"=true", "-m", "64m", "-p", "127.0.0.1::8080", images.DemoRef, "serve").Run()
			})
		}},
		{"berth EC2 bridge task (1 container)", berthVariant(ag, ec2Task, "")},
		{"berth Fargate task, agent with a spare pause container (1 container)", berthVariant(ag, fargateTask, taskdef.LaunchFargate)},
		{"berth run CLI, EC2 bridge (1 container)", cliVariant(berthBinary, dir, "ec2.json")},
		{"berth run CLI, Fargate: no spare (1 container)", cliVariant(berthBinary, dir, "fargate.json")},
		{"docker-compose up -d (3 containers)", func(ctx context.Context) (time.Duration, error) {
			d, err := timed(func() error {
				cmd := exec.CommandContext(ctx, "docker-compose", "-p", "berthbench", "-f", filepath.Join(dir, "compose.yaml"), "up", "-d")
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("%v: %s", err, out)
				}
				return nil
			})
			exec.Command("docker-compose", "-p", "berthbench", "-f", filepath.Join(dir, "compose.yaml"), "down", "-t", "1").Run()
			return d, err
		}},
		{"berth EC2 task with dependsOn (3 containers)", berthVariant(ag, threeTask, "")},
		{"docker run -d ×10 at once (10 containers)", dockerParallel(10)},
		{"berth 10 EC2 tasks at once (10 containers)", berthParallel(ag, ec2Task, 10)},
	}
	samples := make([][]time.Duration, len(variants))
	for r := 0; r < rounds; r++ {
		for i, v := range variants {
			d, err := v.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			samples[i] = append(samples[i], d)
			removeBaselineContainers(docker)
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, rounds)
	}
	medians := make([]time.Duration, len(variants))
	for i := range variants {
		medians[i] = median(samples[i])
	}
	fmt.Printf("| variant | median to RUNNING | ratio |\n|---|---|---|\n")
	baselines := map[int]int{1: 0, 2: 0, 3: 0, 4: 0, 6: 5, 8: 7}
	for i, v := range variants {
		ratio := "baseline"
		if b, ok := baselines[i]; ok {
			ratio = fmt.Sprintf("%.2f× %s", float64(medians[i])/float64(medians[b]), strings.Fields(variants[b].name)[0])
		}
		fmt.Printf("| %s | %s | %s |\n", v.name, medians[i].Round(100*time.Microsecond), ratio)
	}
	return nil
}

// dockerParallel times n docker run -d commands started at once, until the
// last has returned.
func dockerParallel(n int) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		return timed(func() error {
			errs := make(chan error, n)
			for range n {
				go func() {
					errs <- exec.CommandContext(ctx, "docker", "run", "-d", "--label", benchLabel+"=true", "-m", "64m", "-p", "127.0.0.1::8080", images.DemoRef, "serve").Run()
				}()
			}
			var err error
			for range n {
				err = errors.Join(err, <-errs)
			}
			return err
		})
	}
}

// berthParallel times n tasks started at once until the last is RUNNING,
// then kills and removes them outside the measured time.
func berthParallel(ag *agent.Agent, def string, n int) func(ctx context.Context) (time.Duration, error) {
	task, report, err := taskdef.Load([]byte(def), taskdef.Options{})
	if err != nil || !report.Valid() {
		panic(fmt.Sprintf("bench task definition invalid: %v %v", err, report.Errors))
	}
	return func(ctx context.Context) (time.Duration, error) {
		arns := make([]string, 0, n)
		d, err := timed(func() error {
			for range n {
				st, err := ag.StartTask(ctx, agent.TaskSpec{Task: task})
				if err != nil {
					return err
				}
				arns = append(arns, st.ARN)
			}
			for _, arn := range arns {
				final, err := ag.Wait(ctx, arn, agent.TaskRunning)
				if err != nil {
					return err
				}
				if final.LastStatus != agent.TaskRunning {
					return fmt.Errorf("task reached %s: %s", final.LastStatus, final.StoppedReason)
				}
			}
			return nil
		})
		for _, arn := range arns {
			ag.KillTask(ctx, arn)
		}
		for _, arn := range arns {
			ag.Wait(ctx, arn, agent.TaskStopped)
			ag.RemoveTask(ctx, arn)
		}
		return d, err
	}
}

// berthVariant starts a task and times it to RUNNING, then stops and
// removes it outside the measured time.
func berthVariant(ag *agent.Agent, def, launchType string) func(ctx context.Context) (time.Duration, error) {
	task, report, err := taskdef.Load([]byte(def), taskdef.Options{LaunchType: launchType})
	if err != nil || !report.Valid() {
		panic(fmt.Sprintf("bench task definition invalid: %v %v", err, report.Errors))
	}
	return func(ctx context.Context) (time.Duration, error) {
		var arn string
		d, err := timed(func() error {
			st, err := ag.StartTask(ctx, agent.TaskSpec{Task: task, LaunchType: launchType})
			if err != nil {
				return err
			}
			arn = st.ARN
			final, err := ag.Wait(ctx, arn, agent.TaskRunning)
			if err == nil && final.LastStatus != agent.TaskRunning {
				err = fmt.Errorf("task reached %s: %s", final.LastStatus, final.StoppedReason)
			}
			return err
		})
		if arn != "" {
			ag.KillTask(ctx, arn)
			ag.Wait(ctx, arn, agent.TaskStopped)
			ag.RemoveTask(ctx, arn)
		}
		return d, err
	}
}

// cliVariant times `berth run FILE` as a person runs it, from the command
// to its "task RUNNING" line: process start, validation, the state store,
// the agent's start and the task's; then stops it with Ctrl-C, unmeasured.
// Its agent lives for this one task, as berth run's does, so it keeps no
// spare pause container and makes and removes the task network itself.
func cliVariant(berthBinary, dir, file string) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, berthBinary, "run", "--cluster", "bench-cli", filepath.Join(dir, file))
		cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+filepath.Join(dir, "state"))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		cmd.Stderr = cmd.Stdout
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(stdout)
		var seen []string
		running := false
		for !running && sc.Scan() {
			seen = append(seen, sc.Text())
			running = strings.Contains(sc.Text(), "task RUNNING")
		}
		d := time.Since(start)
		cmd.Process.Signal(os.Interrupt)
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		if !running {
			return 0, fmt.Errorf("berth run ended before RUNNING:\n%s", strings.Join(seen, "\n"))
		}
		return d, nil
	}
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// removeBaselineContainers removes what the docker run and docker-compose
// baselines left between runs; berth's own containers (the agent's spare
// pause container) stay, as they would under a running agent.
func removeBaselineContainers(docker client.APIClient) {
	ctx := context.Background()
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", benchLabel+"=true"))})
	if err != nil {
		return
	}
	for _, c := range list {
		if c.Labels[agent.LabelManaged] != "true" {
			docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
}
