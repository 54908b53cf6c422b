package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newPauseCommand is the program of the berth/pause image: the container
// that owns an awsvpc task's network namespace. It does nothing until told
// to stop.
func newPauseCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "pause",
		Short:  "Hold a task's network namespace until stopped",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runPause(cmd.Context(), cmd.OutOrStdout())
			return nil
		},
	}
}

// runPause waits for SIGTERM or SIGINT. As PID 1 of its container it also
// inherits every orphaned process there, so it reaps them on SIGCHLD rather
// than leave zombies. Its one line of output says the signal handlers are
// in place: a SIGTERM before then ends it with Go's default exit code 2.
func runPause(ctx context.Context, out io.Writer) {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	defer signal.Stop(signals)
	fmt.Fprintln(out, "pause: holding the task's namespaces until SIGTERM")
	reapChildren()
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			if sig != syscall.SIGCHLD {
				return
			}
			reapChildren()
		}
	}
}

// reapChildren collects every child that has exited. One SIGCHLD may stand
// for several exits, so it loops until none is left.
func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
