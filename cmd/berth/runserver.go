package main

// berth run through a berth server. When a server answers (the one
// --endpoint or $BERTH_ENDPOINT names, else the one holding berth run's
// state directory), the task is the server's, as any RunTask's is:
//
//	definition ─ a FILE validated here and registered there (a new
//	             revision only when it changed), or FAMILY[:REV] of the server's
//	capacity   ─ EC2: the cluster's container instances; a cluster with none
//	             gets one of this machine's size, and berth says so
//	             FARGATE: capacity the server provisions, in berth's first subnet
//	RunTask    ─ the task shows in berth task list and aws ecs list-tasks
//	follow     ─ state lines from the server's events of the task (and
//	             DescribeTasks), the containers' output from its task
//	             logs, until the task is STOPPED
//	Ctrl-C     ─ StopTask; a second kills the task's containers
//	exit code  ─ as when berth run runs the task on its own
//
// berth run --no-server runs the task on its own as before; beside a server
// holding the state directory it keeps its state in a directory of its own
// (noServerStateDir).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/console"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// noServerStateDir, when set, is where berth run --no-server keeps its
// state: a berth server holds the state directory's store for as long as
// it runs, so runs beside it share a store of their own in a directory
// inside it. They still count the server's tasks, which they find on the
// engine, when they place theirs.
var noServerStateDir string

// noServerDir is that directory's name inside the state directory.
const noServerDir = "no-server"

// runStartedBy is the startedBy of the tasks berth run starts through a
// server, as ListTasks filters them.
const runStartedBy = "berth-run"

// followEvery is how often berth run asks the server for its task when
// the server's events do not tell each change of it, and followWithEvents
// when they do.
const (
	followEvery      = 250 * time.Millisecond
	followWithEvents = 2 * time.Second
)

// serverRun is a berth run through a server.
type serverRun struct {
	c        *client.Client
	endpoint string
	token    string
	opts     runOptions
}

// serverForRun finds the server berth run goes through: the one --endpoint or
// $BERTH_ENDPOINT names, which must answer, else the one that holds berth
// run's state directory, if it answers. nil: the run is on its own.
func serverForRun(ctx context.Context, stderr io.Writer, opts runOptions) (*serverRun, error) {
	path, err := store.DefaultPath()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if opts.noServer {
		if info, ok := server.Discover(ctx, dir); ok {
			noServerStateDir = filepath.Join(dir, noServerDir)
			fmt.Fprintf(stderr, "berth: --no-server: the berth server at %s (pid %d) holds %s; this run keeps its state in %s and counts the server's tasks from the engine\n",
				info.URL(), info.PID, dir, noServerStateDir)
		}
		return nil, nil
	}
	token := opts.server.token
	if token == "" {
		token = os.Getenv(envToken)
	}
	var endpoint string
	named := opts.server.endpoint != "" || os.Getenv(client.EnvEndpoint) != ""
	if named {
		endpoint = client.Endpoint(opts.server.endpoint)
	} else if info, ok := server.Discover(ctx, dir); ok {
		endpoint = info.URL()
	} else {
		return nil, nil
	}
	if opts.pullSet {
		return nil, usageError("--pull: the berth server at %s pulls images as its agents do (ECS_IMAGE_PULL_BEHAVIOR default); --no-server runs the task on its own, pulling as --pull says", endpoint)
	}
	return &serverRun{c: client.New(endpoint, token), endpoint: endpoint, token: token, opts: opts}, nil
}

// run runs the task target names on the server and follows it to its end,
// as berth run follows a task it runs itself.
func (r *serverRun) run(ctx, setupCtx context.Context, interrupts <-chan os.Signal, stdin io.Reader, stdout, stderr io.Writer, target string, env []taskdef.KeyValuePair, attributes map[string]string) error {
	opts := r.opts
	task, td, err := r.definition(setupCtx, stdin, stdout, target)
	if err != nil {
		return interruptedOr(setupCtx, err)
	}
	out := newRunPrinter(stdout, task, opts)
	ref := definitionRef(td.TaskDefinitionArn)
	constraints, err := r.capacity(setupCtx, stderr, task, attributes)
	if err != nil {
		return interruptedOr(setupCtx, err)
	}
	in := &api.RunTaskInput{Cluster: opts.cluster, TaskDefinition: td.TaskDefinitionArn, LaunchType: task.LaunchType,
		PlacementConstraints: constraints, StartedBy: runStartedBy}
	if task.Definition.NetworkMode == taskdef.NetworkAWSVPC {
		// ECS wants the subnets of an awsvpc task; berth run never did.
		first := fargate.DefaultSubnets(controller.DefaultRegion)[0]
		in.NetworkConfiguration = &api.NetworkConfiguration{AwsvpcConfiguration: &api.AwsVpcConfiguration{Subnets: []string{first.ID}}}
		if !opts.quiet {
			out.Line("berth", fmt.Sprintf("awsvpc: the task gets an address of its own in %s (%s), the first of berth's subnets", first.ID, first.AvailabilityZone))
		}
	}
	if len(env) > 0 {
		in.Overrides = &api.TaskOverride{}
		for _, c := range task.Definition.ContainerDefinitions {
			in.Overrides.ContainerOverrides = append(in.Overrides.ContainerOverrides, api.ContainerOverride{Name: c.Name, Environment: env})
		}
	}
	if setupCtx.Err() != nil {
		return interruptedOr(setupCtx, setupCtx.Err())
	}
	// From here a Ctrl-C stops the task: RunTask is not cut short by one,
	// so that no task the server started goes unknown to this run.
	// The task's events are read from a moment before it exists.
	since := time.Now().Add(-time.Second)
	res, err := r.c.RunTask(context.WithoutCancel(ctx), in)
	if err != nil {
		return &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf("run %s: %v", ref, serverMessage(err))}
	}
	if len(res.Failures) > 0 || len(res.Tasks) == 0 {
		why := "the server started no task"
		if len(res.Failures) > 0 {
			f := res.Failures[0]
			why = "not placed: " + f.Reason + orEmpty(" ("+f.Detail+")", f.Detail)
			if f.Reason == "ATTRIBUTE" && (opts.hostIPSet || len(attributes) > 0) {
				why += fmt.Sprintf("; no container instance of cluster %s has the attributes --attribute and --host-ip ask for (berth instance list --cluster %s shows their host addresses)", opts.cluster, opts.cluster)
			}
		}
		return &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf("run %s on the berth server at %s: %s", ref, r.endpoint, why)}
	}
	started := res.Tasks[0]
	if !opts.quiet {
		where := orEmpty(" on container instance "+lastSegment(started.ContainerInstanceArn), started.ContainerInstanceArn)
		out.Line("berth", fmt.Sprintf("task %s (%s, %s) started as %s%s of the berth server at %s",
			lastSegment(started.TaskArn), ref, task.LaunchType, started.TaskArn, where, r.endpoint))
	}
	final, err := r.follow(ctx, interrupts, out, task, started.TaskArn, since)
	if err != nil {
		return err
	}
	out.Line("berth", fmt.Sprintf("task %s stopped: %s (%s)", final.ID(), final.StoppedReason, final.StopCode))
	if opts.keep {
		out.Line("berth", "--keep: the server keeps a stopped task's containers, networks and volumes on the engine for its cleanup wait (berth server --cleanup-wait)")
	}
	code, why := taskExitCode(final)
	if why != "" && !opts.quiet {
		out.Line("berth", why)
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// newRunPrinter prints a task's lines: each container's output under its
// name, berth's under "berth", begun with the time with --timestamps; the
// definition's warnings come first.
func newRunPrinter(stdout io.Writer, task *taskdef.Normalized, opts runOptions) *console.Printer {
	names := make([]string, 0, len(task.Definition.ContainerDefinitions)+1)
	for _, c := range task.Definition.ContainerDefinitions {
		names = append(names, c.Name)
	}
	out := console.NewPrinter(stdout, append(names, "berth"), isTerminal(stdout))
	if opts.timestamps {
		out.Stamp("berth", time.Now)
	}
	for _, w := range task.Warnings {
		out.Line("berth", "warning: "+w.String())
	}
	return out
}

// serverMessage is what a server's error says, in ECS's words.
func serverMessage(err error) string {
	var ecs *api.Error
	if errors.As(err, &ecs) {
		return ecs.Type + ": " + ecs.Message
	}
	return err.Error()
}

// definition is the task definition target names: a FILE (- for standard
// input), validated here and registered with the server unless its latest
// ACTIVE revision is the same, or a FAMILY[:REVISION] the server has.
func (r *serverRun) definition(ctx context.Context, stdin io.Reader, stdout io.Writer, target string) (*taskdef.Normalized, *api.TaskDefinition, error) {
	load := func(data []byte, file string) (*taskdef.Normalized, error) {
		task, report, err := taskdef.Load(data, taskdef.Options{LaunchType: r.opts.launchType})
		if err != nil {
			return nil, usageError("%s: %v", file, err)
		}
		if !report.Valid() {
			writeTextReport(stdout, fileReport{File: file, Errors: report.Errors})
			return nil, &exitError{code: exitInvalid}
		}
		return task, nil
	}
	if _, statErr := os.Lstat(target); target != "-" && statErr != nil && !strings.HasSuffix(target, ".json") {
		family, rev, err := parseFamilyRevision(target)
		if err != nil {
			return nil, nil, err
		}
		if rev > 0 {
			family = fmt.Sprintf("%s:%d", family, rev)
		}
		res, err := r.c.DescribeTaskDefinition(ctx, &api.DescribeTaskDefinitionInput{TaskDefinition: family})
		var ecs *api.Error
		if errors.As(err, &ecs) && ecs.Type == api.TypeClient {
			return nil, nil, usageError("%s is neither a file nor a task definition registered with the berth server at %s (berth run FILE registers one)", target, r.endpoint)
		}
		if err != nil {
			return nil, nil, r.unreachable(err)
		}
		data, err := json.Marshal(res.TaskDefinition.TaskDefinition)
		if err != nil {
			return nil, nil, err
		}
		task, err := load(data, target)
		return task, res.TaskDefinition, err
	}
	data, err := readDefinitionContext(ctx, stdin, target)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, usageError("%s: cannot read: %v", target, err)
	}
	task, err := load(data, target)
	if err != nil {
		return nil, nil, err
	}
	// A new revision only when the file changed, decided by the server in
	// one step: runs of one file started at once make one revision.
	res, err := r.c.RegisterTaskDefinitionIfChanged(ctx, &task.Definition)
	if err != nil {
		return nil, nil, r.unreachable(err)
	}
	return task, res.TaskDefinition, nil
}

// unreachable makes a server's failure berth run's: exit status 125, in
// one line.
func (r *serverRun) unreachable(err error) error {
	var exit *exitError
	if errors.As(err, &exit) {
		return err
	}
	return &exitError{code: exitTaskFailedToStart, msg: serverMessage(err)}
}

// capacity makes sure the task has somewhere to run: the cluster exists
// (made, and said so, when it does not) and, for an EC2 task, has a
// container instance (one of this machine's size registered, and said so,
// when it has none). --attribute sets the attributes of an instance berth
// run registers; on a cluster that has instances, it becomes memberOf
// constraints, so the task runs on an instance that has them.
func (r *serverRun) capacity(ctx context.Context, stderr io.Writer, task *taskdef.Normalized, attributes map[string]string) ([]api.PlacementConstraint, error) {
	cluster := r.opts.cluster
	res, err := r.c.DescribeClusters(ctx, &api.DescribeClustersInput{Clusters: []string{cluster}})
	if err != nil {
		return nil, r.unreachable(err)
	}
	if len(res.Clusters) == 0 || res.Clusters[0].Status != "ACTIVE" {
		if _, err := r.c.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: cluster}); err != nil {
			return nil, r.unreachable(err)
		}
		fmt.Fprintf(stderr, "berth: created cluster %s on the berth server at %s\n", cluster, r.endpoint)
	}
	if task.LaunchType == taskdef.LaunchFargate {
		switch {
		case len(attributes) > 0:
			return nil, usageError("--attribute: a Fargate task runs on capacity of its own, which has no attributes to set")
		case r.opts.hostIPSet:
			return nil, usageError("--host-ip: a Fargate task has an address of its own, which the server gives it")
		}
		return nil, nil
	}
	// A task's ports bind to its instance's host address: --host-ip
	// chooses the instance that has it.
	var hostIP []api.PlacementConstraint
	if r.opts.hostIPSet {
		hostIP = append(hostIP, api.PlacementConstraint{Type: "memberOf", Expression: fmt.Sprintf("attribute:%s == %s", attrHostAddress, r.opts.hostIP)})
	}
	// The server registers an instance only when the cluster has none, in
	// one step: berth runs started at once register one between them.
	in := &api.EnsureContainerInstanceInput{Cluster: cluster}
	for _, name := range slices.Sorted(maps.Keys(attributes)) {
		in.Attributes = append(in.Attributes, api.Attribute{Name: name, Value: attributes[name]})
	}
	reg, err := r.c.EnsureContainerInstance(ctx, in)
	if err != nil {
		return nil, r.unreachable(err)
	}
	if !reg.Registered {
		var cs []api.PlacementConstraint
		for _, name := range slices.Sorted(maps.Keys(attributes)) {
			cs = append(cs, api.PlacementConstraint{Type: "memberOf", Expression: fmt.Sprintf("attribute:%s == %s", name, attributes[name])})
		}
		return append(cs, hostIP...), nil
	}
	ci := reg.ContainerInstance
	fmt.Fprintf(stderr, "berth: cluster %s had no container instance: registered %s at %s, of this machine's size (%d CPU units, %d MiB), to run EC2 tasks on\n",
		cluster, lastSegment(ci.ContainerInstanceArn), attribute(*ci, attrHostAddress), resource(ci.RegisteredResources, "CPU"), resource(ci.RegisteredResources, "MEMORY"))
	return hostIP, nil
}

// follow prints the task's state lines and its containers' output until it
// has stopped, relaying Ctrl-C: the first stops the task as StopTask does,
// the second kills its containers. It returns the stopped task.
func (r *serverRun) follow(ctx context.Context, interrupts <-chan os.Signal, out *console.Printer, task *taskdef.Normalized, arn string, since time.Time) (agent.TaskState, error) {
	logs := r.followLogs(ctx, out, arn)
	defer logs.stop()
	ctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events := r.followEvents(ctx, arn, since)
	view := newTaskView(task)
	lines := stateLines{}
	// While the events come, DescribeTasks is asked seldom, as a safety
	// net: a state it tells first makes the events' older ones moot.
	tick := time.NewTicker(followWithEvents)
	defer tick.Stop()
	stops := 0
	warned := false
	var version int64
	// see takes a state of the task the server told, from its events or
	// DescribeTasks, unless one as new has been taken already: each
	// change of the task raises its version.
	see := func(t api.Task) (agent.TaskState, bool) {
		if t.Version <= version {
			return agent.TaskState{}, false
		}
		version = t.Version
		s := view.state(t, time.Now())
		if !r.opts.quiet {
			for _, c := range s.Containers {
				lines.print(out, agent.StateChange{Task: s, Container: c.Name})
			}
			lines.print(out, agent.StateChange{Task: s})
		}
		return s, s.LastStatus >= agent.TaskStopped
	}
	describe := true
	for {
		if describe {
			res, err := r.c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: r.opts.cluster, Tasks: []string{arn}})
			switch {
			case err != nil:
				// A server restarting takes its tasks up again: berth run
				// waits for it, saying so once.
				if !warned {
					out.Line("berth", fmt.Sprintf("warning: the berth server at %s does not answer (%s); waiting for it", r.endpoint, serverMessage(err)))
					warned = true
				}
			case len(res.Tasks) == 0:
				return agent.TaskState{}, &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf("the berth server at %s no longer knows task %s", r.endpoint, lastSegment(arn))}
			default:
				warned = false
				if s, stopped := see(res.Tasks[0]); stopped {
					logs.wait(interrupts)
					return s, nil
				}
			}
		}
		describe = false
		select {
		case t, ok := <-events:
			if !ok {
				events = nil // DescribeTasks alone follows the task now
				tick.Reset(followEvery)
				continue
			}
			if s, stopped := see(t); stopped {
				logs.wait(interrupts)
				return s, nil
			}
		case <-tick.C:
			describe = true
		case <-interrupts:
			stops++
			if stops == 1 {
				out.Line("berth", "stopping the task (Ctrl-C again to kill it)")
				if _, err := r.c.StopTask(ctx, &api.StopTaskInput{Cluster: r.opts.cluster, Task: arn}); err != nil {
					out.Line("berth", "warning: stop the task: "+serverMessage(err))
				}
				continue
			}
			if stops > 2 && warned {
				// The server is away and cannot say the task stopped:
				// berth run stops waiting for it.
				return agent.TaskState{}, &exitError{code: exitInterrupted, msg: fmt.Sprintf(
					"gave up following task %s: the berth server at %s does not answer; the task is the server's, and berth task list shows it once the server is back",
					lastSegment(arn), r.endpoint)}
			}
			out.Line("berth", "killing the task")
			if err := killTaskContainers(ctx, arn); err != nil {
				out.Line("berth", "warning: kill the task: "+err.Error())
			}
		}
	}
}

// followEvents hands on each state of the task the server's events tell,
// from since on, as each change happens: DescribeTasks, asked now and then,
// may miss a state that lasted less than the time between two asks. The
// channel closes when the events cannot be followed (a server without
// them, or one that went away); DescribeTasks goes on without them.
func (r *serverRun) followEvents(ctx context.Context, arn string, since time.Time) <-chan api.Task {
	states := make(chan api.Task, 64)
	go func() {
		defer close(states)
		r.c.Events(ctx, client.EventsOptions{Since: since, Follow: true}, func(e api.Event) error {
			if e.DetailType != api.DetailTypeTask {
				return nil
			}
			var d api.TaskStateChange
			if json.Unmarshal(e.Detail, &d) != nil || d.TaskArn != arn {
				return nil
			}
			select {
			case states <- d.Task():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return states
}

// killTaskContainers kills what runs of a task, as a second Ctrl-C does:
// the ECS API has no kill, so the engine is asked. The server sees its
// containers die and stops the task.
func killTaskContainers(ctx context.Context, arn string) error {
	docker, err := dockerClient()
	if err != nil {
		return err
	}
	defer docker.Close()
	ctx, cancel := context.WithTimeout(ctx, engineAnswerWait)
	defer cancel()
	running, err := docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))})
	if err != nil {
		return fmt.Errorf("list the task's containers: %w", err)
	}
	if len(running) == 0 {
		return fmt.Errorf("no container of the task runs on the engine at %s (the server's may be another): the task stops when its containers' stopTimeout ends", docker.DaemonHost())
	}
	var errs []error
	for _, c := range running {
		if err := docker.ContainerKill(ctx, c.ID, "KILL"); err != nil {
			errs = append(errs, fmt.Errorf("kill %s: %w", strings.TrimPrefix(c.Names[0], "/"), err))
		}
	}
	return errors.Join(errs...)
}

// taskView reads the server's answers about a task as the agent's state of
// it, which berth run's state lines and exit status are made of. What the
// ECS API does not say of a container, it tells from what it has seen: the
// container ran if it was seen RUNNING or exited with a code of its own
// (not as one that could not start); it finished when it was first seen
// STOPPED. Whether it is essential, the definition says.
type taskView struct {
	essential map[string]bool
	ran       map[string]time.Time
	finished  map[string]time.Time
}

func newTaskView(task *taskdef.Normalized) *taskView {
	v := &taskView{essential: map[string]bool{}, ran: map[string]time.Time{}, finished: map[string]time.Time{}}
	for _, c := range task.Definition.ContainerDefinitions {
		v.essential[c.Name] = c.Essential == nil || *c.Essential
	}
	return v
}

// state is t as the agent would have it, seen at now.
func (v *taskView) state(t api.Task, now time.Time) agent.TaskState {
	last, _ := agent.ParseTaskStatus(t.LastStatus)
	desired, _ := agent.ParseTaskStatus(t.DesiredStatus)
	s := agent.TaskState{
		ARN: t.TaskArn, LaunchType: t.LaunchType, LastStatus: last, DesiredStatus: desired,
		HealthStatus: healthOf(t.HealthStatus), StopCode: agent.StopCode(t.StopCode), StoppedReason: t.StoppedReason,
		Address: eniDetail(t, "privateIPv4Address"), StartedAt: t.StartedAt.Time, StoppedAt: t.StoppedAt.Time,
	}
	for _, c := range t.Containers {
		cs := agent.ContainerState{Name: c.Name, DockerID: c.RuntimeID, Essential: v.essential[c.Name],
			LastStatus: containerStatusOf(c.LastStatus), HealthStatus: healthOf(c.HealthStatus), Reason: c.Reason}
		if c.ExitCode != nil {
			code := int(*c.ExitCode)
			cs.ExitCode = &code
		}
		for _, b := range c.NetworkBindings {
			if b.ContainerPort == nil || b.HostPort == nil {
				continue
			}
			cs.NetworkBindings = append(cs.NetworkBindings, agent.NetworkBinding{BindIP: b.BindIP,
				ContainerPort: int(*b.ContainerPort), HostPort: int(*b.HostPort), Protocol: orTCP(b.Protocol)})
		}
		if _, seen := v.ran[c.Name]; !seen && (cs.LastStatus == agent.ContainerRunning ||
			cs.ExitCode != nil && !strings.HasPrefix(c.Reason, string(agent.CannotStartContainerError))) {
			v.ran[c.Name] = now
		}
		if cs.LastStatus == agent.ContainerStopped {
			if _, seen := v.finished[c.Name]; !seen {
				v.finished[c.Name] = now
			}
			cs.FinishedAt = v.finished[c.Name]
		}
		cs.StartedAt = v.ran[c.Name]
		s.Containers = append(s.Containers, cs)
	}
	return s
}

func containerStatusOf(name string) agent.ContainerStatus {
	switch name {
	case "RUNNING":
		return agent.ContainerRunning
	case "STOPPED":
		return agent.ContainerStopped
	}
	return agent.ContainerPending
}

func healthOf(name string) agent.HealthStatus {
	switch name {
	case "HEALTHY":
		return agent.HealthHealthy
	case "UNHEALTHY":
		return agent.HealthUnhealthy
	}
	return agent.HealthUnknown
}

// serverLogs prints a server task's output under each container's name.
type serverLogs struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// followLogs prints the task's output as the server keeps it, from its
// first line, until the task has stopped and its output is all written; a
// stream that breaks before that (a server restarting) is taken up again
// after its last line.
func (r *serverRun) followLogs(ctx context.Context, out *console.Printer, arn string) *serverLogs {
	ctx, cancel := context.WithCancel(ctx)
	l := &serverLogs{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		var last time.Time
		print := func(line client.LogLine) error {
			// A stream taken up again starts at the last line's time:
			// what was printed already is not printed twice.
			if !last.IsZero() && !line.Time.After(last) {
				return nil
			}
			last = line.Time
			out.Line(line.Container, line.Line)
			return nil
		}
		for {
			err := r.c.Logs(ctx, arn, client.LogsOptions{Cluster: r.opts.cluster, Since: last, Follow: true}, print)
			var ecs *api.Error
			switch {
			case err == nil, ctx.Err() != nil:
				return
			case errors.As(err, &ecs):
				// A server that keeps no output of its tasks (an older
				// one) or no longer this task's.
				out.Line("berth", fmt.Sprintf("warning: the containers' output is not shown: the berth server at %s answers %s", r.endpoint, serverMessage(err)))
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(followEvery):
			}
		}
	}()
	return l
}

// wait waits for the task's output to be all printed; Ctrl-C, or a server
// that has not ended the stream logsAfterStop after the task stopped, gives
// up on what is left of it.
func (l *serverLogs) wait(interrupts <-chan os.Signal) {
	select {
	case <-l.done:
	case <-interrupts:
		l.stop()
	case <-time.After(logsAfterStop):
		// The server ends the stream once the output is written; one that
		// does not must not keep berth run from ending.
		l.stop()
	}
}

// logsAfterStop bounds how long berth run waits for the rest of a stopped
// task's output.
const logsAfterStop = 30 * time.Second

func (l *serverLogs) stop() {
	l.cancel()
	<-l.done
}
