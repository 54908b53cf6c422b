package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
)

type serverOptions struct {
	listen           string
	stateDir         string
	token            string
	fargateVCPUQuota int
	cleanupWait      time.Duration
	stoppedRetention time.Duration
	agentTimeout     time.Duration
	prices           string
	cpuProfile       string
}

func newServerCommand() *cobra.Command {
	var opts serverOptions
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run berth's controller: the ECS API, /healthz and /metrics",
		Long: `Run berth's controller in the foreground. It holds the state directory's
store for as long as it runs, and listens on ` + server.DefaultListen + ` unless
--listen says otherwise: POST / takes the ECS API (point the aws CLI or an
AWS SDK at it with --endpoint-url), GET /healthz says it is up, GET /metrics
is its Prometheus exposition, GET /berth/v1/top and /berth/v1/billing are what berth
top and berth cost read. The API serves clusters, task definitions,
container instances (slices of this engine, or the engines of berth agents)
and their attributes, tasks (RunTask, StartTask, StopTask, DescribeTasks,
ListTasks: EC2 tasks placed on the cluster's instances, Fargate and Fargate
Spot tasks each on capacity of its own) and tags, all kept in the state
directory; and, at the same POST /, CloudWatch Logs' GetLogEvents and
DescribeLogStreams of the awslogs streams (docs/api.md lists every
operation). POST /berth/v1/OPERATION takes berth's own operations
(InterruptTask, DescribeTaskLimits, …).
GET /berth/v1/tasks/{taskID}/logs and GET /berth/v1/events are berth's own: the output
of each task's containers, kept in the state directory until the task is
forgotten (berth task logs), and the changes of tasks and instances as ECS
sends them to EventBridge (berth events).

It listens beyond loopback only with --token, which every request must then
carry: as a bearer token, or as the access key ID of the AWS credentials the
aws CLI and the SDKs sign with. berth agents (berth agent) connect at
GET /berth/v1/agent with the same token; an instance whose agent has been
silent for --agent-timeout is agentConnected false. Ctrl-C or SIGTERM stops
it cleanly; the agents' tasks keep running, and the agents connect again.

The estimated cost in /metrics (berth_estimated_cost_dollars) goes by
berth's price table (us-east-1); --prices FILE reads a JSON table over it,
as berth cost --prices does (docs/cli.md shows its members). /berth/v1/billing
gives the table too, and berth cost and berth compare price by it unless
given one of their own.`,
		Example: "  berth server\n  berth server --listen 0.0.0.0:3185 --token \"$(openssl rand -hex 16)\"",
		Args:    argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", server.DefaultListen, "address to listen on, HOST:PORT")
	f.StringVar(&opts.stateDir, "state", "", "state directory (default: $BERTH_STATE_DIR, else $XDG_STATE_HOME/berth, else ~/.local/state/berth)")
	f.StringVar(&opts.token, "token", "", "token every request must carry; required to listen beyond loopback")
	f.IntVar(&opts.fargateVCPUQuota, "fargate-vcpu-quota", controller.DefaultFargateVCPUQuota, "the account's quota of Fargate vCPUs running at once, as AWS sets it")
	f.DurationVar(&opts.cleanupWait, "cleanup-wait", 3*time.Hour, "how long a stopped task's containers stay on the engine (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION)")
	f.DurationVar(&opts.stoppedRetention, "stopped-task-retention", controller.DefaultStoppedTaskRetention, "how long a STOPPED task stays describable")
	f.DurationVar(&opts.agentTimeout, "agent-timeout", controller.DefaultAgentTimeout, "how long a berth agent may be silent before its instance is agentConnected false")
	f.StringVar(&opts.prices, "prices", "", "a price table in JSON over berth's own, for the estimated cost (default: berth's, us-east-1)")
	// For benchmarks: where the server's time goes while it serves.
	f.StringVar(&opts.cpuProfile, "cpu-profile", "", "write a CPU profile of the server to this file until it stops")
	f.MarkHidden("cpu-profile")
	return cmd
}

func runServer(ctx context.Context, out, errOut io.Writer, opts serverOptions) error {
	if err := server.CheckListen(opts.listen, opts.token); err != nil {
		return usageError("--listen: %v", err)
	}
	prices, err := loadPrices(opts.prices)
	if err != nil {
		return err
	}
	dir := opts.stateDir
	if dir == "" {
		path, err := store.DefaultPath()
		if err != nil {
			return err
		}
		dir = filepath.Dir(path)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	m := metrics.New(nil, controller.MetricLabels())
	var ctl *controller.Controller
	srv, err := server.Start(ctx, server.Config{
		Listen:   opts.listen,
		StateDir: dir,
		Token:    opts.token,
		Registry: m.Registry,
		Logf:     func(format string, args ...any) { fmt.Fprintf(out, "berth server: "+format+"\n", args...) },
		NewAPI: func(st *store.Store) http.Handler {
			ctl = controller.New(st, controller.Options{
				Docker:               func() (engine.Engine, error) { return dockerClient() },
				FargateVCPUQuota:     opts.fargateVCPUQuota,
				CleanupWait:          opts.cleanupWait,
				StoppedTaskRetention: opts.stoppedRetention,
				LogDir:               filepath.Join(dir, "logs"),
				AgentTimeout:         opts.agentTimeout,
				Version:              version,
				Progress:             errOut,
				Metrics:              m,
				Prices:               &prices,
				Logf:                 func(format string, args ...any) { fmt.Fprintf(errOut, "berth server: "+format+"\n", args...) },
			})
			m.Watch(ctl.MetricsState())
			logger := slog.New(slog.NewTextHandler(errOut, nil))
			mux := api.NewMux(logger)
			ctl.Register(mux)
			// berth's own operations and endpoints (logs, events) beside the ECS API.
			return ctl.Handler(m.InstrumentAPI(mux), logger)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "berth server: listening on http://%s (state: %s)\n", srv.Addr(), dir)
	// The tasks a server before this one left are taken up again.
	if err := ctl.Start(ctx); err != nil {
		fmt.Fprintf(errOut, "berth server: take up the tasks the state holds: %v\n", err)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "berth server: stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	// The tasks keep running: the next server takes them up.
	ctl.Close()
	return err
}
