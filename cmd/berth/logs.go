package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/console"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
)

// taskLogs is what berth task logs reads and how it prints it.
type taskLogs struct {
	follow     bool
	container  string
	since      time.Duration
	timestamps bool
}

// newTaskLogsCommand is berth task logs, a subcommand of berth task.
func newTaskLogsCommand(opts *taskOptions, complete cobra.CompletionFunc) *cobra.Command {
	var logs taskLogs
	cmd := &cobra.Command{
		Use:   "logs TASK",
		Short: "Print a task's output, kept by the server after its containers are gone",
		Long: `Print what a task's containers wrote, which berth server keeps from each
container's first byte (the newest 8 MiB of each) until the task is forgotten,
an hour after it stopped. Each line goes where the container wrote it, to
standard output or standard error, under the container's name when the task
has several, as berth run prints them. With -f it follows the output as the
containers write it, and ends once the task has stopped and all of its
output is printed. -o json prints the server's own lines, one JSON object
each.`,
		Example:           "  berth task logs 0123456789abcdef0123456789abcdef -f\n  berth task logs TASK --container web --since 10m --timestamps",
		Args:              argsBetween(1, 1, "one task ID or ARN"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskLogs(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args[0], logs)
		}),
	}
	f := cmd.Flags()
	f.BoolVarP(&logs.follow, "follow", "f", false, "follow the output until the task has stopped")
	f.StringVar(&logs.container, "container", "", "only this container's output")
	f.DurationVar(&logs.since, "since", 0, "only the output of the last DURATION (10m, 1h30m)")
	f.BoolVar(&logs.timestamps, "timestamps", false, "print the time berth read each line, RFC 3339 in UTC")
	cmd.RegisterFlagCompletionFunc("container", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeFrom(&opts.clientOptions, containerNames(&opts.cluster, args[0]))(cmd, nil, toComplete)
	})
	return cmd
}

// containerNames completes the names of a task's containers.
func containerNames(cluster *string, task string) func(ctx context.Context, c *client.Client, _ string) []string {
	return func(ctx context.Context, c *client.Client, _ string) []string {
		res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: *cluster, Tasks: []string{task}})
		if err != nil || len(res.Tasks) != 1 {
			return nil
		}
		var names []string
		for _, ctr := range res.Tasks[0].Containers {
			names = append(names, ctr.Name)
		}
		return names
	}
}

func runTaskLogs(ctx context.Context, out, errOut io.Writer, opts *taskOptions, task string, logs taskLogs) error {
	if logs.since < 0 {
		return usageError("--since %s: want a positive duration, such as 10m", logs.since)
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	// The task's containers, for the prefixes; a task the server does not
	// hold is said by the logs themselves, in the server's words.
	var names []string
	if res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: opts.cluster, Tasks: []string{task}}); err == nil && len(res.Tasks) == 1 {
		for _, ctr := range res.Tasks[0].Containers {
			if logs.container == "" || ctr.Name == logs.container {
				names = append(names, ctr.Name)
			}
		}
	}
	in := client.LogsOptions{Cluster: opts.cluster, Container: logs.container, Follow: logs.follow}
	if logs.since > 0 {
		in.Since = clock().Add(-logs.since)
	}
	var print func(client.LogLine) error
	if opts.output == "json" {
		print = func(l client.LogLine) error { return writeJSONLine(out, l) }
	} else {
		print = newLogPrinter(out, errOut, names, logs.timestamps, isTerminal(out))
	}
	err = c.Logs(ctx, task, in, print)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return serverError(err)
}

// newLogPrinter prints each line where its container wrote it: standard
// error's lines to errOut. Under a task of several containers each line
// has its container's name before it, as berth run prints them.
func newLogPrinter(out, errOut io.Writer, names []string, timestamps, color bool) func(client.LogLine) error {
	prefixed := len(names) > 1
	stdout := console.NewPrinter(out, names, color)
	stderr := console.NewPrinter(errOut, names, color)
	return func(l client.LogLine) error {
		text := l.Line
		if timestamps {
			text = l.Time.UTC().Format(time.RFC3339Nano) + " " + text
		}
		w, p := out, stdout
		if l.Stream == "stderr" {
			w, p = errOut, stderr
		}
		if prefixed {
			p.Line(l.Container, text)
			return nil
		}
		_, err := fmt.Fprintln(w, text)
		return err
	}
}
