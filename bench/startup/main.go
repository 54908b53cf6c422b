// Command startup measures how long a task takes from start to RUNNING
// under berth, beside the same containers started by docker run and by
// docker-compose, interleaved round by round so that every variant sees the
// same machine. It prints the medians and the ratios as a Markdown table:
// each row's median over its baseline's, and the median (with quartiles) of
// the ratios of the row's sample to its baseline's in the same round.
//
//	go build -o /tmp/berth ./cmd/berth && go run ./bench/startup -berth /tmp/berth -rounds 15
//
// -compare NAME=BINARY (repeatable) adds the berth run rows once more for
// another berth binary, an earlier build, so that a change to berth run is
// measured against the build before it in the same run; -only picks rows.
// berth's images are built from one binary at a time, so each row first
// makes them current for its own binary, outside the measured time.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/taskdef"
)

const benchLabel = "dev.berth.bench"

// benchRun is this run's value of benchLabel, and part of its clusters'
// names: two runs on one engine (two people's) leave each other's
// containers alone.
var benchRun = strconv.Itoa(os.Getpid())

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
	// binary is the berth binary whose images the variant runs: its rows
	// rebuild them, unmeasured, when another binary's rows ran before.
	binary string
	run    func(ctx context.Context) (time.Duration, error)
	// baseline: the rows after it, up to the next baseline, are given as
	// a ratio to it.
	baseline bool
}

func main() {
	berthBinary := flag.String("berth", "", "berth binary the images are built from (required)")
	rounds := flag.Int("rounds", 15, "rounds; each runs every variant once, in turn")
	onlyFlag := flag.String("only", "", "run only the variants whose names match this regular expression (baselines included only if they match)")
	serverProfile := flag.String("server-profile", "", "file the berth server of the server rows writes its CPU profile to")
	fill := flag.String("fill", "", "only write a store of 10,000 tasks, as the stored-state rows start from, into this directory, and exit")
	var compare []comparison
	flag.Func("compare", "NAME=BINARY: the berth run rows and the server's Fargate row once more, for this berth binary (the code before a change, say), in the same rounds; repeatable", func(v string) error {
		name, binary, ok := strings.Cut(v, "=")
		if !ok || name == "" || binary == "" {
			return errors.New("want NAME=BINARY")
		}
		abs, err := filepath.Abs(binary)
		compare = append(compare, comparison{name: name, binary: abs})
		return err
	})
	flag.Parse()
	if *fill != "" {
		if err := fillStore(*fill, 10_000); err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		return
	}
	if *berthBinary == "" {
		fmt.Fprintln(os.Stderr, "startup: -berth is required")
		os.Exit(2)
	}
	var only *regexp.Regexp
	if *onlyFlag != "" {
		var err error
		if only, err = regexp.Compile(*onlyFlag); err != nil {
			fmt.Fprintln(os.Stderr, "startup: -only:", err)
			os.Exit(2)
		}
	}
	if err := run(*berthBinary, *rounds, *serverProfile, only, compare); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

// comparison is another berth binary whose berth run rows and server
// Fargate row are measured beside this one's.
type comparison struct{ name, binary string }

func run(berthBinary string, rounds int, serverProfile string, only *regexp.Regexp, compare []comparison) error {
	ctx := context.Background()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer docker.Close()
	// Deferred before the agent's Close, so it runs after it.
	defer testenv.RemoveLabelled(context.Background(), docker, benchLabel+"="+benchRun)
	for _, ref := range []string{images.DemoRef, images.PauseRef} {
		if err := images.Ensure(ctx, docker, berthBinary, ref); err != nil {
			return err
		}
	}
	ag, err := agent.New(ctx, agent.Config{Docker: docker, Cluster: "bench-" + benchRun, TaskNetwork: "berth-bench-awsvpc", HostIP: "127.0.0.1", BinaryPath: berthBinary, SparePause: true, Labels: map[string]string{benchLabel: benchRun}})
	if err != nil {
		return err
	}
	defer ag.Close()
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, content := range map[string]string{"compose.yaml": strings.ReplaceAll(composeFile, `"true"`, `"`+benchRun+`"`), "ec2.json": ec2Task, "fargate.json": fargateTask} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}

	stored, err := newStoredState(filepath.Join(dir, "stored"), 10_000)
	if err != nil {
		return fmt.Errorf("fill a store: %w", err)
	}
	srv, err := startServer(ctx, docker, berthBinary, filepath.Join(dir, "server"), serverProfile)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.prepare(ctx); err != nil {
		return fmt.Errorf("prepare the server: %w", err)
	}

	variants := []variant{
		{name: "docker run -d (1 container)", baseline: true, run: func(ctx context.Context) (time.Duration, error) {
			return timed(func() error {
				return exec.CommandContext(ctx, "docker", "run", "-d", "--label", benchLabel+"="+benchRun, "-m", "64m", "-p", "127.0.0.1::8080", images.DemoRef, "serve").Run()
			})
		}},
		{name: "berth EC2 bridge task (1 container)", run: berthVariant(ag, ec2Task, "")},
		{name: "berth Fargate task, agent with a spare pause container (1 container)", run: berthVariant(ag, fargateTask, taskdef.LaunchFargate)},
		{name: "berth server RunTask to RUNNING, EC2 instance (1 container)", run: srv.runToRunning("bench-ec2", types.LaunchTypeEc2)},
		{name: "berth server RunTask to RUNNING as startedAt records it, EC2 instance (1 container)", run: srv.recordedRunning("bench-ec2", types.LaunchTypeEc2)},
		{name: "berth server RunTask to RUNNING, Fargate (1 container)", run: fargateSample(berthBinary, dir, docker)},
	}
	for _, c := range compare {
		variants = append(variants, variant{name: "berth server RunTask to RUNNING, Fargate (1 container) [" + c.name + "]",
			run: comparedSample(c.binary, berthBinary, filepath.Join(dir, "compare-"+c.name), docker)})
	}
	variants = append(variants, []variant{
		{name: "berth run CLI, EC2 bridge (1 container)", run: cliVariant(berthBinary, dir, "ec2.json")},
		{name: "berth run CLI, Fargate: no spare (1 container)", run: cliVariant(berthBinary, dir, "fargate.json")},
	}...)
	for _, c := range compare {
		variants = append(variants,
			variant{name: "berth run CLI, EC2 bridge (1 container), " + c.name, binary: c.binary, run: cliVariant(c.binary, dir, "ec2.json")},
			variant{name: "berth run CLI, Fargate: no spare (1 container), " + c.name, binary: c.binary, run: cliVariant(c.binary, dir, "fargate.json")})
	}
	variants = append(variants, []variant{
		{name: "docker-compose up -d (3 containers)", baseline: true, run: func(ctx context.Context) (time.Duration, error) {
			d, err := timed(func() error {
				cmd := exec.CommandContext(ctx, "docker-compose", "-p", "berthbench"+benchRun, "-f", filepath.Join(dir, "compose.yaml"), "up", "-d")
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("%v: %s", err, out)
				}
				return nil
			})
			exec.Command("docker-compose", "-p", "berthbench"+benchRun, "-f", filepath.Join(dir, "compose.yaml"), "down", "-t", "1").Run()
			return d, err
		}},
		{name: "berth EC2 task with dependsOn (3 containers)", run: berthVariant(ag, threeTask, "")},
		{name: "docker run -d ×10 at once (10 containers)", baseline: true, run: dockerParallel(10)},
		{name: "berth 10 EC2 tasks at once (10 containers)", run: berthParallel(ag, ec2Task, 10)},
		{name: "open a store of 10,000 tasks and read a page", baseline: true, run: stored.openAlone},
		{name: "berth server start with 10,000 tasks stored, to /healthz and ListTasks answered", run: stored.serverStart(berthBinary, false)},
		{name: "berth server start with 10,000 tasks stored, to the 10,000 vanished tasks stopped", run: stored.serverStart(berthBinary, true)},
	}...)
	if only != nil {
		variants = slices.DeleteFunc(variants, func(v variant) bool { return !only.MatchString(v.name) })
	}
	// samples[i][r] is row i's sample of round r, or skipped.
	samples := make([][]time.Duration, len(variants))
	for i := range samples {
		samples[i] = make([]time.Duration, rounds)
	}
	for r := 0; r < rounds; r++ {
		// Each round starts one row further down the list, so that no row
		// always runs right after the same one: the engine is still busy
		// with what a row removed (the docker run baseline's container,
		// say) when the next begins.
		for k := range variants {
			i := (k + r) % len(variants)
			v := variants[i]
			binary := cmp.Or(v.binary, berthBinary)
			if len(compare) > 0 {
				for _, ref := range []string{images.DemoRef, images.PauseRef} {
					if err := images.Ensure(ctx, docker, binary, ref); err != nil {
						return err
					}
				}
			}
			d, err := v.run(ctx)
			removeBaselineContainers(docker)
			settle(docker)
			if errors.Is(err, errSkipped) {
				fmt.Fprintf(os.Stderr, "%s: sample left out: %v\n", v.name, err)
				samples[i][r] = skipped
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			samples[i][r] = d
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, rounds)
	}
	medians := make([]time.Duration, len(variants))
	for i, v := range variants {
		taken := takenSamples(samples[i])
		if len(taken) == 0 {
			return fmt.Errorf("%s: no sample in %d rounds", v.name, rounds)
		}
		medians[i] = median(taken)
	}
	fmt.Printf("| variant | median to RUNNING | ratio | ratio within a round, median (quartiles) |\n|---|---|---|---|\n")
	baseline := -1
	for i, v := range variants {
		ratio, paired := "baseline", ""
		if v.baseline {
			baseline = i
		} else if b := baseline; b >= 0 {
			of := strings.Fields(variants[b].name)[0]
			ratio = fmt.Sprintf("%.2f× %s", float64(medians[i])/float64(medians[b]), of)
			if q, ok := roundRatios(samples[i], samples[b]); ok {
				paired = fmt.Sprintf("%.2f× (%.2f–%.2f)", q[1], q[0], q[2])
			}
		}
		name := v.name
		if n := len(takenSamples(samples[i])); n < rounds {
			name += fmt.Sprintf(" (%d of %d samples: the others met another server's Fargate tasks on berth-vpc)", n, rounds)
		}
		fmt.Printf("| %s | %s | %s | %s |\n", name, medians[i].Round(100*time.Microsecond), ratio, paired)
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
					errs <- exec.CommandContext(ctx, "docker", "run", "-d", "--label", benchLabel+"="+benchRun, "-m", "64m", "-p", "127.0.0.1::8080", images.DemoRef, "serve").Run()
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
				if strings.Contains(final.StoppedReason, "~internal~ecs~pause was") {
					// Killed or removed from outside (another's cleanup).
					err = fmt.Errorf("%w: %v", errSkipped, err)
				}
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
		cmd := exec.CommandContext(ctx, berthBinary, "run", "--cluster", "bench-cli-"+benchRun, filepath.Join(dir, file))
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

// skipped marks a round whose sample of a row was left out.
const skipped time.Duration = -1

// takenSamples returns a row's samples less the rounds it skipped.
func takenSamples(row []time.Duration) []time.Duration {
	return slices.DeleteFunc(slices.Clone(row), func(d time.Duration) bool { return d == skipped })
}

// roundRatios returns the quartiles (first, median, third) of a row's
// samples each divided by its baseline's sample of the same round, over
// the rounds where both have one. Two rows of one round ran seconds apart
// on the same machine, so this ratio leaves out what changes between
// rounds (the engine's own pace, other work on the machine), which the
// ratio of the two medians keeps.
func roundRatios(row, baseline []time.Duration) ([3]float64, bool) {
	var ratios []float64
	for r := range row {
		if row[r] != skipped && baseline[r] != skipped && baseline[r] > 0 {
			ratios = append(ratios, float64(row[r])/float64(baseline[r]))
		}
	}
	if len(ratios) == 0 {
		return [3]float64{}, false
	}
	slices.Sort(ratios)
	at := func(q float64) float64 { return ratios[int(q*float64(len(ratios)-1)+0.5)] }
	return [3]float64{at(0.25), at(0.5), at(0.75)}, true
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// settle waits, 30 seconds at most, until what a sample left on the engine
// has settled: no container of this run is exited, dead, being made or
// being removed, and the list of them has not changed for three looks in
// a row. The baselines' containers are removed before the next sample
// starts; berth removes a stopped task's containers, and an agent makes a
// new spare pause container, in the background, and without this the
// next sample (whichever row it is) would share the engine with that work.
func settle(docker client.APIClient) {
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for stable := 0; stable < 3 && time.Now().Before(deadline); {
		time.Sleep(30 * time.Millisecond)
		list, err := docker.ContainerList(ctx, container.ListOptions{All: true})
		if err != nil {
			return
		}
		var ids []string
		busy := false
		for _, c := range list {
			if c.Labels[benchLabel] != benchRun && !strings.Contains(c.Labels[agent.LabelCluster], benchRun) {
				continue
			}
			ids = append(ids, c.ID+c.State)
			busy = busy || c.State != "running"
		}
		slices.Sort(ids)
		now := strings.Join(ids, ",")
		if busy || now != last {
			stable = 0
		} else {
			stable++
		}
		last = now
	}
}

// removeBaselineContainers removes what the docker run and docker-compose
// baselines left between runs; berth's own containers (the agent's spare
// pause container) stay, as they would under a running agent.
func removeBaselineContainers(docker client.APIClient) {
	ctx := context.Background()
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", benchLabel+"="+benchRun))})
	if err != nil {
		return
	}
	for _, c := range list {
		if c.Labels[agent.LabelManaged] != "true" {
			docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
}
