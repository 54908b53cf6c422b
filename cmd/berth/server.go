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
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
)

type serverOptions struct {
	listen   string
	stateDir string
	token    string
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
is its Prometheus exposition. The API serves clusters, task definitions and
their tags so far (docs/api.md); they are kept in the state directory.

It listens beyond loopback only with --token, which every request must then
carry: as a bearer token, or as the access key ID of the AWS credentials the
aws CLI and the SDKs sign with. Ctrl-C or SIGTERM stops it cleanly.`,
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
	return cmd
}

func runServer(ctx context.Context, out, errOut io.Writer, opts serverOptions) error {
	if err := server.CheckListen(opts.listen, opts.token); err != nil {
		return usageError("--listen: %v", err)
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
	m := metrics.New(nil, controller.Operations)
	srv, err := server.Start(ctx, server.Config{
		Listen:   opts.listen,
		StateDir: dir,
		Token:    opts.token,
		Registry: m.Registry,
		Logf:     func(format string, args ...any) { fmt.Fprintf(out, "berth server: "+format+"\n", args...) },
		NewAPI:   newServerAPI(errOut, m),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "berth server: listening on http://%s (state: %s)\n", srv.Addr(), dir)
	<-ctx.Done()
	fmt.Fprintln(out, "berth server: stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// newServerAPI serves the controller's operations on the server's store,
// counted in m; the ECS API's own failures (a ServerException, a panic) are
// logged to errOut.
func newServerAPI(errOut io.Writer, m *metrics.Metrics) func(st *store.Store) http.Handler {
	return func(st *store.Store) http.Handler {
		mux := api.NewMux(slog.New(slog.NewTextHandler(errOut, nil)))
		controller.New(st, controller.Options{}).Register(mux)
		return m.InstrumentAPI(mux)
	}
}
