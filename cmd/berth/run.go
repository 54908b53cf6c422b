package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/console"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/placement"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/taskdef"
)

// Exit codes of `berth run` when no essential container's exit code can
// stand for the task, chosen to match `docker run`.
const (
	exitTaskFailedToStart = 125 // the task never ran: pull, create or start failed
	exitInterrupted       = 130 // stopped by Ctrl-C before any essential container ran
)

type runOptions struct {
	launchType string
	env        []string
	keep       bool
	hostIP     string
	pull       string
	cluster    string
	quiet      bool
	attributes []string
	timestamps bool
	// noServer runs the task on its own though a server answers; server
	// says where one is (--endpoint, --token).
	noServer bool
	server   clientOptions
	// hostIPSet and pullSet say the flags were given, not defaulted: a
	// server decides both itself, so a run through it refuses them.
	hostIPSet, pullSet bool
}

func newRunCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run FILE|FAMILY[:REVISION]",
		Short: "Run a task definition on the local Docker engine, in the foreground",
		Long: `Run a task definition on the local Docker engine, as ECS would run it,
and stay attached: each container's output is printed under its name, and
every change of the task's state on a line of its own.

A FILE (- for standard input) is validated and registered (a new revision
only when it changed); FAMILY[:REVISION] runs a definition registered
before. An EC2 task is first placed on the local engine as RunTask would
place it on a container instance: it must fit what the engine's CPUs and
memory leave after the other berth EC2 tasks running on it, its static host
ports must be free of other berth tasks', and its memberOf constraints must
hold for the instance's attributes (set more with --attribute). A Fargate
task gets capacity of its own size and a network interface of its own on
berth's task network.

When a berth server holds the state directory, or --endpoint (or
BERTH_ENDPOINT) names one, the task runs there instead, as RunTask runs it:
the definition is registered with the server, the task runs on the
cluster's container instances (a cluster with none gets one of this
machine's size, said on standard error), it shows in berth task list and
aws ecs list-tasks, and berth run follows it as it follows its own, with
the same output, Ctrl-C and exit status. --host-ip then chooses the
instance of that host address; --pull is the server's to decide. A task
the server runs stays on the engine for the server's cleanup wait, and
goes on if berth run is killed. --no-server runs the task on its own;
beside a server holding the state directory, such runs keep their state
in its no-server directory.

Berth runs started at once share the engine as one container instance:
each places its task and records what it takes in one transaction of the
state store, so two never both take the last of its memory or one host
port.

Ctrl-C (or SIGTERM, or SIGHUP from a closed terminal) stops the task as
StopTask does (SIGTERM, then SIGKILL after each container's stopTimeout); a
second one kills it. Before the task has started, it ends berth at once.
When the task has stopped, its containers, networks and volumes are removed
unless --keep is given. A berth run that dies without stopping its task
(killed, or the machine restarted) leaves it behind; the next berth run
kills and removes it, and removes kept tasks three hours after they
stopped, as ECS cleans up.

The exit status is the exit code of the essential container that stopped
the task (137 when it was removed from the engine and left none). After
Ctrl-C it is the first non-zero exit code of the essential containers (137
when one had to be killed), else 0, and 130 when none had run. 125 when
the task could not be placed or failed to start, 1 when the definition is
invalid, 2 for usage errors.`,
		Example: "  berth run examples/web-server.json\n  berth run --launch-type FARGATE examples/fargate-web.json\n  berth run web:3 --env MODE=debug",
		Args:    argsBetween(1, 1, "one task definition: a FILE (- for standard input) or FAMILY[:REVISION]"),
		RunE: failingWith(exitTaskFailedToStart, func(cmd *cobra.Command, args []string) error {
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			opts.hostIPSet, opts.pullSet = cmd.Flags().Changed("host-ip"), cmd.Flags().Changed("pull")
			return runRun(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], opts)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.launchType, "launch-type", "", "EC2 or FARGATE (default: from requiresCompatibilities)")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "set an environment variable in every container: NAME=VALUE (repeatable)")
	f.BoolVar(&opts.keep, "keep", false, "leave the stopped task's containers, networks and volumes on the engine")
	f.StringVar(&opts.hostIP, "host-ip", "127.0.0.1", "host address the task's ports bind to")
	f.StringVar(&opts.pull, "pull", "default", "image pull behaviour: default, always, once or prefer-cached")
	f.StringVar(&opts.cluster, "cluster", "default", "cluster the task belongs to")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "print the containers' output and why the task stopped, not each change of state")
	f.StringArrayVar(&opts.attributes, "attribute", nil, "set an attribute of the local container instance for placement constraints: NAME=VALUE (repeatable)")
	f.BoolVar(&opts.timestamps, "timestamps", false, "begin each state line with the time of the change (UTC, RFC 3339)")
	f.BoolVar(&opts.noServer, "no-server", false, "run the task on its own, even when a berth server answers")
	opts.server.addClientFlags(cmd)
	cmd.RegisterFlagCompletionFunc("cluster", completeRunFrom(&opts.server, clusterNames))
	cmd.ValidArgsFunction = completeRunTarget(&opts.server)
	return cmd
}

func runRun(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, target string, opts runOptions) error {
	// Output piped into a reader that quits (berth run … | head) must not
	// kill berth with the task still running: the task runs to its end and
	// is cleaned up as usual, its output unread.
	signal.Ignore(syscall.SIGPIPE)
	// Ctrl-C, SIGTERM and SIGHUP (a closed terminal) are berth's from the
	// first moment. Until the task has started they end berth at once,
	// whatever it is waiting for (a slow definition, the store's lock, an
	// engine that does not answer): nothing needs stopping yet. From then
	// on the first stops the task as StopTask does and the second kills it.
	interrupts, setupCtx, stopRelay := relayInterrupts(ctx)
	defer stopRelay()
	// The task's image check hashes this binary, and the definition's
	// validation needs the schema compiled: begin both while the
	// definition is read and the engine asked.
	if exe, err := os.Executable(); err == nil {
		images.Prehash(exe)
	}
	taskdef.PrepareSchema()

	if err := checkLaunchType(opts.launchType); err != nil {
		return err
	}
	env, err := parseEnv(opts.env)
	if err != nil {
		return err
	}
	if _, err := agent.ParsePullBehavior(opts.pull); err != nil {
		return usageError("--pull: %v", err)
	}
	if err := checkHostIP(opts.hostIP); err != nil {
		return err
	}
	if err := taskdef.CheckName("cluster", opts.cluster); err != nil {
		return usageError("--cluster: %v", err)
	}
	attributes, err := parseAttributes(opts.attributes)
	if err != nil {
		return err
	}
	// A server that answers runs the task: it shows up in the cluster, as
	// any task RunTask started does, and this process follows it.
	srv, err := serverForRun(setupCtx, stderr, opts)
	if err != nil {
		return interruptedOr(setupCtx, err)
	}
	if srv != nil {
		return srv.run(ctx, setupCtx, interrupts, stdin, stdout, stderr, target, env, attributes)
	}
	docker, dockerErr := dockerClient()
	if dockerErr == nil {
		defer docker.Close()
	}
	labels := map[string]string{}
	if opts.keep {
		labels[agent.LabelKeep] = "true"
	}
	// The engine's side of the setup (is it there, what is it, the run's
	// agent) goes on while the definition is read, validated and
	// registered, which is this process's work and the store's.
	setup := startEngineSetup(setupCtx, docker, dockerErr, agent.Config{
		Docker:       docker,
		Cluster:      opts.cluster,
		HostIP:       opts.hostIP,
		PullBehavior: agent.PullBehavior(opts.pull),
		PullProgress: stderr,
		Instance:     runInstance(),
		Labels:       labels,
		// The zone the task metadata endpoint reports: the instance's.
		AvailabilityZone: attributes[scheduler.AttrAvailabilityZone],
		// What the agent says of the engine (a network it cannot remove, a
		// cleanup that failed) is no part of the task's story: it goes to
		// standard error, beside berth's other diagnostics.
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, "berth: warning: "+format+"\n", args...) },
	})
	defer setup.close()
	task, rec, err := resolveTask(setupCtx, stdin, stdout, target, opts.launchType)
	if err != nil {
		return interruptedOr(setupCtx, err)
	}
	if dockerErr != nil {
		return dockerErr
	}
	out := newRunPrinter(stdout, task, opts)
	// What the task will need first of the agent is made while dead runs
	// are reaped and the task placed.
	setup.prepare(task)
	setup.wait()
	// An engine that cannot be reached is the first thing to say, before
	// anything about earlier runs' leftovers.
	if setup.pingErr != nil {
		return interruptedOr(setupCtx, &exitError{code: exitTaskFailedToStart, msg: setup.pingErr.Error()})
	}
	// What dead runs left goes first: its tasks must not hold host ports
	// or memory the placement then finds taken.
	if reaped, err := reapOrphans(setupCtx, docker); err != nil {
		if setupCtx.Err() != nil {
			return interruptedOr(setupCtx, err)
		}
		out.Line("berth", fmt.Sprintf("warning: could not remove everything earlier berth runs left: %v", err))
	} else if reaped > 0 {
		out.Line("berth", fmt.Sprintf("removed %s left by berth run processes that ended without stopping them", plural(reaped, "task")))
	}
	arn := agent.NewTaskARN(agent.DefaultRegion, agent.DefaultAccountID, opts.cluster)
	if _, err := placeLocally(setupCtx, docker, setup.info, setup.infoErr, arn, rec, task, opts, attributes); err != nil {
		return interruptedOr(setupCtx, &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf("run %s: %v", rec.Name(), err)})
	}
	// From here the task is recorded as this process's: whatever ends
	// berth, the record says what a later run must remove.
	defer markRunStopped(arn)
	// The agent closes before the record says the task stopped.
	defer setup.close()
	if setup.agentErr != nil {
		return interruptedOr(setupCtx, &exitError{code: exitTaskFailedToStart, msg: setup.agentErr.Error()})
	}
	ag := setup.agent
	if task.Definition.NetworkMode == taskdef.NetworkAWSVPC && !opts.quiet {
		out.Line("berth", "awsvpc: the task gets an address of its own on berth's local task network "+agent.DefaultTaskNetwork+
			" (ECS takes the subnets from RunTask's networkConfiguration.awsvpcConfiguration; berth run needs none)")
	}

	updates, unsubscribe := ag.Subscribe(64)
	defer unsubscribe()
	logs := newLogFollower(out)
	defer logs.close()
	started, err := ag.StartTask(setupCtx, agent.TaskSpec{
		ARN:        arn,
		Task:       task,
		Revision:   rec.Revision,
		LaunchType: task.LaunchType,
		Overrides:  envOverrides(task, env),
		Output:     logs.output,
	})
	if err != nil {
		return interruptedOr(setupCtx, &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf("start task %s: %v", rec.Name(), err)})
	}
	if !opts.quiet {
		out.Line("berth", fmt.Sprintf("task %s (%s, %s) started as %s", started.ID(), rec.Name(), task.LaunchType, arn))
	}

	changes := stateLines{}
	var final agent.TaskState
	stops := 0
	for final.ARN == "" {
		select {
		case c, ok := <-updates:
			if !ok {
				return errors.New("the agent stopped before the task did")
			}
			if c.Task.ARN != arn {
				continue
			}
			changes.printWarnings(out, c.Task, task.Warnings)
			if !opts.quiet {
				changes.print(out, c)
			}
			if c.Task.LastStatus >= agent.TaskStopped {
				final = c.Task
			}
		case <-interrupts:
			stops++
			if stops == 1 {
				out.Line("berth", "stopping the task (Ctrl-C again to kill it)")
				if err := ag.StopTask(ctx, arn, "", agent.StopUserInitiated); err != nil {
					return err
				}
				continue
			}
			out.Line("berth", "killing the task")
			if err := ag.KillTask(ctx, arn); err != nil {
				return err
			}
		}
	}
	logs.wait()
	out.Line("berth", fmt.Sprintf("task %s stopped: %s (%s)", final.ID(), final.StoppedReason, final.StopCode))
	if !opts.keep {
		if err := ag.RemoveTask(context.WithoutCancel(ctx), arn); err != nil {
			fmt.Fprintf(stderr, "berth: remove task %s: %v\n", final.ID(), err)
		}
	} else {
		out.Line("berth", "--keep: the task's containers, networks and volumes stay on the engine")
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

// engineSetup is the engine's side of a run's setup: whether the engine
// answers, what it is, and the run's agent (its event stream, the
// recovery of its own instance's tasks). It touches neither the state
// store, which the definition's registration takes meanwhile, nor what
// another run made: what dead runs left is reaped after it, before the
// placement, as it was.
type engineSetup struct {
	// ctx is the setup's; cancel ends it early, when the run ends
	// before using it.
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	pingErr  error
	info     system.Info
	infoErr  error
	agent    *agent.Agent
	agentErr error

	// prepared ends with prepare's work; closed ends close's.
	prepared sync.WaitGroup
	closed   sync.Once
}

// startEngineSetup begins the engine's side of the setup in the
// background; wait waits for it. cfg is the agent's, without its Info.
// A docker client that could not be made (dockerErr) starts nothing.
func startEngineSetup(ctx context.Context, docker client.APIClient, dockerErr error, cfg agent.Config) *engineSetup {
	ctx, cancel := context.WithCancel(ctx)
	s := &engineSetup{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if dockerErr != nil {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		if s.pingErr = pingEngine(ctx, docker); s.pingErr != nil {
			return
		}
		// One question for the placement and the agent both. The agent
		// follows the engine's events from this moment on, which only
		// shows it the reaping of other runs' tasks, none of its own.
		if s.info, s.infoErr = docker.Info(ctx); s.infoErr != nil {
			return
		}
		cfg.Info = &s.info
		s.agent, s.agentErr = agent.New(ctx, cfg)
	}()
	return s
}

// wait waits for the engine's side of the setup.
func (s *engineSetup) wait() { <-s.done }

// prepare makes, once the agent has started, what the task will need of
// it first: the task metadata endpoint, and an awsvpc task's network, in
// the background. A run that ends before its task starts leaves nothing
// of them: the agent's Close removes both.
func (s *engineSetup) prepare(task *taskdef.Normalized) {
	s.prepared.Add(1)
	go func() {
		defer s.prepared.Done()
		s.wait()
		if s.agent == nil {
			return
		}
		mode := task.Definition.NetworkMode
		if mode != taskdef.NetworkNone {
			// A failure is not kept: the first container's create tries
			// again, and says what went wrong.
			_, _ = s.agent.MetadataEndpoint(s.ctx)
		}
		if mode == taskdef.NetworkAWSVPC {
			// As above: the create of the first container on it (the
			// pause container, or the task's one container when it has
			// none) makes it if this could not.
			_ = s.agent.PrepareTaskNetwork(s.ctx)
		}
	}()
}

// close ends the setup (a run that ends before its task starts does not
// wait for an engine that does not answer), waits for it and closes its
// agent, if it started; the second call does nothing.
func (s *engineSetup) close() {
	s.closed.Do(func() {
		s.cancel()
		s.wait()
		s.prepared.Wait()
		if s.agent != nil {
			s.agent.Close()
		}
	})
}

// relayInterrupts catches SIGINT, SIGTERM and SIGHUP for the whole run. The
// first one cancels the returned context, which every step before the task
// starts works under; each one is also passed on through the returned
// channel, for the task loop.
func relayInterrupts(parent context.Context) (<-chan os.Signal, context.Context, func()) {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	relayed := make(chan os.Signal, 8)
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-signals:
				cancel()
				select {
				case relayed <- s:
				default: // the loop has plenty to act on already
				}
			case <-done:
				return
			}
		}
	}()
	return relayed, ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}

// interruptedOr is err, unless it came of a signal that ended the setup:
// then berth ends as an interrupted command does, having started nothing.
func interruptedOr(setupCtx context.Context, err error) error {
	if setupCtx.Err() != nil && errors.Is(context.Cause(setupCtx), context.Canceled) {
		return &exitError{code: exitInterrupted, msg: "interrupted before the task started; nothing was left running"}
	}
	return err
}

// pingEngine checks that the engine answers, within a deadline: an engine
// that accepts connections and never answers must not hang berth.
func pingEngine(ctx context.Context, docker client.APIClient) error {
	ctx, cancel := context.WithTimeout(ctx, engineAnswerWait)
	defer cancel()
	if _, err := docker.Ping(ctx); err != nil {
		if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
			return fmt.Errorf("the Docker engine at %s did not answer within %s; is it running? (docker info tells)", docker.DaemonHost(), engineAnswerWait)
		}
		return fmt.Errorf("cannot reach the Docker engine at %s: %v", docker.DaemonHost(), err)
	}
	return nil
}

// engineAnswerWait bounds the first question to the engine.
const engineAnswerWait = 15 * time.Second

// placeLocally places the task on the local engine as the one container
// instance of the cluster, as RunTask would, and records it as this
// process's, in one transaction of the state store, so that berth runs
// starting at the same moment never both take the last of the instance.
// An EC2 task must fit what the engine's CPUs and memory leave after the
// other berth runs' EC2 tasks and the engine's other berth tasks, its static
// host ports must be free of theirs on the same address, and its placement
// constraints must hold for the instance's attributes. A Fargate task gets
// capacity of its own size: it is recorded, not placed.
// info is the engine's, asked before (infoErr when that failed).
func placeLocally(ctx context.Context, docker client.APIClient, info system.Info, infoErr error, arn string, rec store.TaskDefinition, task *taskdef.Normalized, opts runOptions, extra map[string]string) (store.Run, error) {
	if infoErr != nil {
		return store.Run{}, fmt.Errorf("docker info: %w", infoErr)
	}
	attrs := placement.LocalAttributes(agent.DefaultRegion)
	// What the agent can do, as the ECS agent registers it: a definition
	// requiring what berth does not do is placed nowhere.
	if caps, err := placement.Capabilities(docker.ClientVersion()); err == nil {
		for k, v := range caps {
			attrs[k] = v
		}
	}
	for k, v := range extra {
		attrs[k] = v
	}
	local := placement.Local(agent.DefaultRegion, agent.DefaultAccountID, opts.cluster, localInstanceID(), info.NCPU*1024, int(info.MemTotal>>20), attrs)
	// The engine's other berth tasks (a server's, or a run's that this
	// store does not know) are read before the store is taken: the lock
	// is never held while the engine is asked.
	census, err := otherTasks(ctx, docker, opts.hostIP)
	if err != nil {
		return store.Run{}, err
	}
	needs := placement.Needs(task)
	if task.LaunchType == taskdef.LaunchFargate {
		needs.CPU, needs.MemoryMiB = 0, 0 // capacity of its own
	}
	mine := store.Run{
		ARN:        arn,
		Cluster:    opts.cluster,
		Family:     rec.Family,
		Revision:   rec.Revision,
		LaunchType: task.LaunchType,
		Group:      placement.Group(task),
		Owner:      runInstance(),
		Keep:       opts.keep,
		HostIP:     opts.hostIP,
		CPU:        needs.CPU,
		MemoryMiB:  needs.MemoryMiB,
		TCPPorts:   needs.TCPPorts,
		UDPPorts:   needs.UDPPorts,
		CreatedAt:  time.Now().UTC(),
	}
	var placed store.Run
	err = withStore(ctx, func(st *store.Store) error {
		var err error
		placed, err = st.PlaceRun(func(runs []store.Run) (store.Run, error) {
			if task.LaunchType == taskdef.LaunchFargate {
				return mine, nil
			}
			inst := local
			inst.Tasks = append(holding(runs, opts.hostIP), census...)
			inst.Tasks = dedupe(inst.Tasks)
			if err := placement.PlaceOn(inst, task); err != nil {
				return store.Run{}, err
			}
			return mine, nil
		})
		return err
	})
	return placed, err
}

// holding is what the recorded runs' tasks take of the instance that a task
// on hostIP would need: the CPU and memory of the EC2 ones that have not
// stopped, and the host ports any of them publishes on that address, or on
// every address.
func holding(runs []store.Run, hostIP string) []scheduler.Task {
	out := make([]scheduler.Task, 0, len(runs))
	for _, r := range runs {
		// A gone run's task holds what its containers hold, which the
		// engine's census counts until the task is reaped.
		if !r.Holds() || runGone(r.Owner) {
			continue
		}
		t := scheduler.Task{ARN: r.ARN, Group: r.Group}
		t.Needs.CPU, t.Needs.MemoryMiB = r.CPU, r.MemoryMiB
		if sameAddress(r.HostIP, hostIP) {
			t.Needs.TCPPorts, t.Needs.UDPPorts = r.TCPPorts, r.UDPPorts
		}
		out = append(out, t)
	}
	return out
}

// dedupe keeps the first of tasks with the same ARN: a task recorded in the
// store shows up in the engine's census too once its containers run.
func dedupe(tasks []scheduler.Task) []scheduler.Task {
	seen := make(map[string]bool, len(tasks))
	out := tasks[:0]
	for _, t := range tasks {
		if !seen[t.ARN] {
			seen[t.ARN] = true
			out = append(out, t)
		}
	}
	return out
}

// sameAddress reports whether ports bound on a and on b can collide.
func sameAddress(a, b string) bool {
	any := func(ip string) bool { return ip == "0.0.0.0" || ip == "::" || ip == "" }
	return a == b || any(a) || any(b)
}

// markRunStopped records that this process's task has stopped, so that it
// holds nothing more: a kept one stays recorded until a later run removes
// it after its cleanup wait. It is best effort: a run that cannot record it
// (the store is held elsewhere) leaves the record to the next run, which
// finds its owner gone.
func markRunStopped(arn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = withStore(ctx, func(st *store.Store) error { return st.RunStopped(arn, time.Now()) })
}

// otherTasks is what the engine's running berth tasks, whichever berth run
// or agent started them, take of the instance that a task on hostIP would
// need: the CPU and memory of the EC2 ones (a Fargate task runs on
// capacity of its own), and the host ports any of them publishes on that
// address, or on every address.
func otherTasks(ctx context.Context, docker client.APIClient, hostIP string) ([]scheduler.Task, error) {
	active, err := agent.ActiveTasks(ctx, docker)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.Task, 0, len(active))
	for _, a := range active {
		other := scheduler.Task{ARN: a.ARN, Group: a.Group}
		if a.Task.LaunchType != taskdef.LaunchFargate {
			needs := placement.Needs(&a.Task)
			other.Needs.CPU, other.Needs.MemoryMiB = needs.CPU, needs.MemoryMiB
		}
		for _, p := range a.Ports {
			if p.PublicPort == 0 || !sameAddress(p.IP, hostIP) {
				continue
			}
			if p.Type == "udp" {
				other.Needs.UDPPorts = append(other.Needs.UDPPorts, p.PublicPort)
			} else {
				other.Needs.TCPPorts = append(other.Needs.TCPPorts, p.PublicPort)
			}
		}
		out = append(out, other)
	}
	return out, nil
}

// parseAttributes reads --attribute NAME=VALUE flags.
func parseAttributes(flags []string) (map[string]string, error) {
	pairs, err := parseNameValues("--attribute", flags)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if err := scheduler.CheckAttribute(p.Name, p.Value); err != nil {
			return nil, usageError("--attribute %q: %v", p.Name+"="+p.Value, err)
		}
		out[p.Name] = p.Value
	}
	return out, nil
}

// envOverrides turns --env flags into a container override for every
// container, so that they win over the definition's own environment, as a
// RunTask containerOverride does.
func envOverrides(task *taskdef.Normalized, env []taskdef.KeyValuePair) []agent.ContainerOverride {
	if len(env) == 0 {
		return nil
	}
	out := make([]agent.ContainerOverride, 0, len(task.Definition.ContainerDefinitions))
	for _, c := range task.Definition.ContainerDefinitions {
		out = append(out, agent.ContainerOverride{Name: c.Name, Environment: env})
	}
	return out
}

// taskExitCode is berth run's exit status for the stopped task and, where
// the status would puzzle, a sentence saying where it comes from. A task
// that failed to start has none: 125, as docker run says. A task stopped by
// an essential container's exit has that container's code: the first
// essential container to finish after it had started (137, as docker run
// says of a container removed under it, when it vanished without one). A
// task its user stopped (Ctrl-C) was stopped by no container: its code is
// that of its essential containers together, the first non-zero one in
// definition order (137 when one had to be killed), else 0; and 130, as for
// any interrupted command, when none of them had run.
func taskExitCode(t agent.TaskState) (int, string) {
	ran := func(c *agent.ContainerState) bool {
		return c.Essential && !c.StartedAt.IsZero()
	}
	switch t.StopCode {
	case agent.StopTaskFailedToStart:
		return exitTaskFailedToStart, neverStarted(t)
	case agent.StopUserInitiated:
		code := exitInterrupted
		for i := range t.Containers {
			if c := &t.Containers[i]; ran(c) && c.ExitCode != nil {
				if *c.ExitCode != 0 {
					return *c.ExitCode, ""
				}
				code = 0
			}
		}
		return code, ""
	}
	var first *agent.ContainerState
	for i := range t.Containers {
		c := &t.Containers[i]
		if ran(c) && (c.ExitCode != nil || c.LastStatus == agent.ContainerStopped) && (first == nil || c.FinishedAt.Before(first.FinishedAt)) {
			first = c
		}
	}
	switch {
	case first == nil:
		return exitTaskFailedToStart, neverStarted(t)
	case first.ExitCode == nil:
		return exitVanished, fmt.Sprintf("exit status %d: %s stopped with no exit code (%s), as docker run says of a container removed under it", exitVanished, first.Name, first.Reason)
	}
	return *first.ExitCode, ""
}

// exitVanished is berth run's exit status when the essential container that
// stopped the task left no exit code: it was removed from the engine.
const exitVanished = 137

// neverStarted explains the exit status of a task that failed to start, and
// the exit code 143 ECS gives each container stopped before it could start.
func neverStarted(t agent.TaskState) string {
	var unstarted []string
	for _, c := range t.Containers {
		if c.StartedAt.IsZero() && c.ExitCode != nil && *c.ExitCode == 143 {
			unstarted = append(unstarted, c.Name)
		}
	}
	why := fmt.Sprintf("exit status %d: the task failed to start", exitTaskFailedToStart)
	if len(unstarted) > 0 {
		why += fmt.Sprintf("; the exit code 143 of %s is the one ECS gives a container stopped before it could start", strings.Join(unstarted, ", "))
	}
	return why
}

// resolveTask loads a task definition file (- for standard input) or a
// registered FAMILY[:REV], and registers a file's definition in the state
// store (a new revision only when it changed). It returns the task and its
// registered revision. The definition is read before the store is opened,
// and the store is held only for the registration, so that a definition
// slow to come (a FIFO, a process substitution) keeps no other berth
// waiting; ctx ends both waits.
func resolveTask(ctx context.Context, stdin io.Reader, stdout io.Writer, target, launchType string) (*taskdef.Normalized, store.TaskDefinition, error) {
	var (
		data       []byte
		registered *store.TaskDefinition
		file       = target
		err        error
	)
	// Lstat, not Stat: a symlink that leads nowhere or in a loop is still a
	// file the user named, and reading it says what is wrong with it.
	if _, statErr := os.Lstat(target); target == "-" || statErr == nil || strings.HasSuffix(target, ".json") {
		if data, err = readDefinitionContext(ctx, stdin, target); err != nil {
			if ctx.Err() != nil {
				return nil, store.TaskDefinition{}, err
			}
			return nil, store.TaskDefinition{}, usageError("%s: cannot read: %v", target, err)
		}
	} else {
		family, rev, err := parseFamilyRevision(target)
		if err != nil {
			return nil, store.TaskDefinition{}, err
		}
		var rec store.TaskDefinition
		var revs string
		err = withStore(ctx, func(st *store.Store) error {
			var err error
			rec, err = st.TaskDefinition(family, rev)
			if errors.Is(err, store.ErrNotFound) {
				revs = activeRevisions(st, family)
			}
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			if revs != "" {
				return nil, store.TaskDefinition{}, usageError("%s is neither a file nor a registered task definition; the ACTIVE revisions of %s are %s", target, family, revs)
			}
			return nil, store.TaskDefinition{}, usageError("%s is neither a file nor a registered task definition (berth run FILE registers one)", target)
		}
		if err != nil {
			return nil, store.TaskDefinition{}, err
		}
		if data, err = json.Marshal(rec.Definition); err != nil {
			return nil, store.TaskDefinition{}, err
		}
		registered, file = &rec, rec.Name()
	}
	task, report, err := taskdef.Load(data, taskdef.Options{LaunchType: launchType})
	if err != nil {
		return nil, store.TaskDefinition{}, usageError("%s: %v", file, err)
	}
	if !report.Valid() {
		writeTextReport(stdout, fileReport{File: file, Errors: report.Errors})
		return nil, store.TaskDefinition{}, &exitError{code: exitInvalid}
	}
	if registered != nil {
		return task, *registered, nil
	}
	var rec store.TaskDefinition
	err = withStore(ctx, func(st *store.Store) error {
		var err error
		rec, _, err = st.RegisterIfChanged(task.Definition, time.Now())
		return err
	})
	return task, rec, err
}

// readDefinitionContext is readDefinition that gives up when ctx ends: a
// FIFO nobody writes to must not keep Ctrl-C from ending berth.
func readDefinitionContext(ctx context.Context, stdin io.Reader, target string) ([]byte, error) {
	type read struct {
		data []byte
		err  error
	}
	done := make(chan read, 1)
	go func() {
		data, err := readDefinition(stdin, target)
		done <- read{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s: %w", target, ctx.Err())
	}
}

func parseFamilyRevision(s string) (string, int, error) {
	family, revText, hasRev := strings.Cut(s, ":")
	rev := 0
	if hasRev {
		n, err := strconv.Atoi(revText)
		if err != nil || n < 1 {
			return "", 0, usageError("%q: the revision after ':' must be a positive whole number", s)
		}
		rev = n
	}
	return family, rev, nil
}

// withStore opens the state store for one short piece of work and closes
// it again: berth processes share the store by taking turns, each holding
// it for milliseconds, never while reading input or waiting on the engine.
func withStore(ctx context.Context, work func(*store.Store) error) error {
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	if noServerStateDir != "" {
		path = filepath.Join(noServerStateDir, "state.db")
	} else if info, ok := server.Discover(ctx, filepath.Dir(path)); ok {
		// The server came up after this run chose to run on its own.
		return &exitError{code: exitTaskFailedToStart, msg: fmt.Sprintf(
			"a berth server (pid %d, %s) started holding the state in %s while this run was starting: run again, and the task goes through the server (or runs on its own beside it with --no-server)",
			info.PID, info.URL(), filepath.Dir(path))}
	}
	st, err := store.OpenContext(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	return work(st)
}

// parseEnv reads --env NAME=VALUE flags.
func parseEnv(flags []string) ([]taskdef.KeyValuePair, error) {
	return parseNameValues("--env", flags)
}

// parseNameValues reads the NAME=VALUE values of a repeatable flag.
func parseNameValues(flag string, values []string) ([]taskdef.KeyValuePair, error) {
	out := make([]taskdef.KeyValuePair, 0, len(values))
	for _, v := range values {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return nil, usageError("%s %q: want NAME=VALUE", flag, v)
		}
		out = append(out, taskdef.KeyValuePair{Name: name, Value: value})
	}
	return out, nil
}

// stateLines prints a line when the task or a container changes in a way a
// person sees (status, health, ports, exit code), not at every version. A
// container's change can change the task too (its health is its
// containers'), so both are looked at every time.
type stateLines map[string]string

func (s stateLines) print(out *console.Printer, c agent.StateChange) {
	if c.Container != "" {
		s.printIfChanged(out, c.Container, describeContainer(c.Task, c.Container))
	}
	// The task's line comes with a change of its status or health: an
	// address given between two (a task without a pause container has its
	// container's, from its start) is said on the next.
	bare := c.Task
	bare.Address = ""
	if status := describeTask(bare); s["\x00status"] != status {
		s["\x00status"] = status
		s.printIfChanged(out, "", describeTask(c.Task))
	}
}

// printWarnings prints each warning the agent records on the task once,
// when it appears, quiet or not. Those of the definition itself were
// printed before the task started, with their pointer and rule.
func (s stateLines) printWarnings(out *console.Printer, t agent.TaskState, printed []taskdef.Problem) {
	for _, p := range printed {
		s["warning\x00"+p.Message] = ""
	}
	for _, w := range t.Warnings {
		if _, seen := s["warning\x00"+w]; !seen {
			s.printIfChanged(out, "warning\x00"+w, "warning: "+w)
		}
	}
}

func (s stateLines) printIfChanged(out *console.Printer, key, line string) {
	if line == "" || s[key] == line {
		return
	}
	s[key] = line
	out.Line("berth", line)
}

// describeTask renders the task's status as one line.
func describeTask(t agent.TaskState) string {
	line := "task " + t.LastStatus.String()
	if t.HealthStatus != agent.HealthUnknown {
		line += ", " + t.HealthStatus.String()
	}
	if t.Address != "" {
		line += ", address " + t.Address
	}
	return line
}

// describeContainer renders a container's status as one line.
func describeContainer(t agent.TaskState, name string) string {
	ctr, ok := t.Container(name)
	if !ok {
		return ""
	}
	line := ctr.LastStatus.String()
	if ctr.LastStatus == agent.ContainerStopped && ctr.StartedAt.IsZero() {
		// ECS gives such a container an exit code too (143); say it never ran.
		line += ", never started"
	}
	if ctr.HealthStatus != agent.HealthUnknown {
		line += ", " + ctr.HealthStatus.String()
	}
	for _, b := range ctr.NetworkBindings {
		// Docker's way of writing a port, then ECS's networkBindings words.
		line += fmt.Sprintf(", %s:%d->%d/%s (bindIP %s, hostPort %d, containerPort %d, protocol %s)",
			b.BindIP, b.HostPort, b.ContainerPort, b.Protocol, b.BindIP, b.HostPort, b.ContainerPort, b.Protocol)
	}
	if ctr.ExitCode != nil {
		line += fmt.Sprintf(", exit code %d", *ctr.ExitCode)
	}
	if ctr.Reason != "" {
		line += ", " + ctr.Reason
	}
	return name + " " + line
}

// logFollower prints each container's output under its name. The agent
// streams it from the container's first byte to its exit (TaskSpec.Output),
// at the pace berth prints it, so nothing is lost or printed twice whatever
// the engine's log options; where the agent could not stream all of it,
// a warning says so.
type logFollower struct {
	out     *console.Printer
	mu      sync.Mutex
	readers []*io.PipeReader
	closed  bool
	wg      sync.WaitGroup
}

func newLogFollower(out *console.Printer) *logFollower {
	return &logFollower{out: out}
}

// output is the task's TaskSpec.Output: a pipe whose other end prints.
// Once close has been called, containers are no longer attached.
func (l *logFollower) output(name string) agent.OutputWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	pr, pw := io.Pipe()
	l.readers = append(l.readers, pr)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		err := l.out.Copy(name, pr)
		if err != nil && !errors.Is(err, io.ErrClosedPipe) {
			l.out.Line("berth", "warning: "+err.Error())
		}
		// Whatever is left after a failure is not wanted: the agent reads
		// it on without waiting for us.
		pr.Close()
	}()
	return pw
}

// wait waits for every container's output to end, as it does when the
// containers have stopped.
func (l *logFollower) wait() { l.wg.Wait() }

// close stops printing and waits for the printers to end.
func (l *logFollower) close() {
	l.mu.Lock()
	l.closed = true
	for _, r := range l.readers {
		r.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// activeRevisions lists the ACTIVE revisions of family for a message, as
// "1, 2, 3" (the last ten, after "…", when there are more); "" when there
// are none or they cannot be listed.
func activeRevisions(st *store.Store, family string) string {
	recs, err := st.TaskDefinitions(family, store.StatusActive)
	if err != nil {
		return ""
	}
	var revs []string
	for _, r := range recs {
		if r.Family == family {
			revs = append(revs, strconv.Itoa(r.Revision))
		}
	}
	if len(revs) > 10 {
		revs = append([]string{"…"}, revs[len(revs)-10:]...)
	}
	return strings.Join(revs, ", ")
}

// checkHostIP refuses a --host-ip that is no address, or, for an engine on
// this machine, not one of this machine's: the engine could bind no port to
// it, and the task would fail only once its ports were allocated.
func checkHostIP(hostIP string) error {
	if net.ParseIP(hostIP) == nil {
		return usageError("--host-ip %q is not an IP address", hostIP)
	}
	if !engineIsLocal(os.Getenv("DOCKER_HOST")) {
		return nil // its addresses are not this machine's to check
	}
	l, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return usageError("--host-ip %s is not an address of this machine (see ip addr); 127.0.0.0/8 is always one", hostIP)
	}
	if err == nil {
		l.Close()
	}
	return nil
}

// engineIsLocal reports whether DOCKER_HOST (as the engine client reads it)
// names an engine on this machine: a socket, or TCP on a loopback address.
func engineIsLocal(dockerHost string) bool {
	if dockerHost == "" {
		return true
	}
	u, err := client.ParseHostURL(dockerHost)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		ip := net.ParseIP(u.Hostname())
		return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}
