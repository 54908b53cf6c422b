package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
)

// eventsOptions are berth events' flags.
type eventsOptions struct {
	clientOptions
	cluster string
	follow  bool
	since   time.Duration
}

func newEventsCommand() *cobra.Command {
	var opts eventsOptions
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the cluster's task and instance state changes, as ECS sends them to EventBridge",
		Long: `Print each change of a task or a container instance the server made, one
line each: its time, kind, cluster, the task or instance ID, the task's
family:revision, its last → desired status (an instance's status) and the
stop reason. The server keeps the latest ` + fmt.Sprint(eventHistory) + ` changes; -f goes on
printing each new one as it happens. -o json prints each as the EventBridge
event ECS sends ("ECS Task State Change", "ECS Container Instance State
Change"), one JSON object a line.

Every cluster's changes are printed, as an EventBridge rule on source aws.ecs
receives them all; --cluster prints one cluster's, as a rule matching
detail.clusterArn does.`,
		Example: "  berth events -f\n  berth events --cluster class --since 10m -o json | jq .detail.lastStatus",
		Args:    argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), cmd.OutOrStdout(), &opts)
		}),
	}
	opts.addClientFlags(cmd, "table", "json")
	f := cmd.Flags()
	f.StringVar(&opts.cluster, "cluster", "", "only this cluster's changes (default: every cluster's)")
	cmd.RegisterFlagCompletionFunc("cluster", completeFrom(&opts.clientOptions, clusterNames))
	f.BoolVarP(&opts.follow, "follow", "f", false, "go on printing each change as it happens")
	f.DurationVar(&opts.since, "since", 0, "only the changes of the last DURATION (10m, 1h)")
	return cmd
}

// eventHistory is how many changes the server keeps (controller.EventHistory).
const eventHistory = 1000

func runEvents(ctx context.Context, out io.Writer, opts *eventsOptions) error {
	if opts.since < 0 {
		return usageError("--since %s: want a positive duration, such as 10m", opts.since)
	}
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	in := client.EventsOptions{Cluster: opts.cluster, Follow: opts.follow}
	if opts.since > 0 {
		in.Since = clock().Add(-opts.since)
	}
	print := func(e api.Event) error { return writeJSONLine(out, e) }
	// The header comes with the first change, or at the end of none: a
	// server that does not answer prints nothing but why.
	headed := false
	header := func() error {
		if headed || opts.output == "json" {
			return nil
		}
		headed = true
		_, err := fmt.Fprintln(out, eventHeader)
		return err
	}
	if opts.output != "json" {
		print = func(e api.Event) error {
			if err := header(); err != nil {
				return err
			}
			_, err := fmt.Fprintln(out, eventLine(e))
			return err
		}
	}
	err = c.Events(ctx, in, print)
	switch {
	case errors.Is(err, context.Canceled):
		return nil
	case err != nil:
		return serverError(err)
	}
	return header()
}

// eventColumns lays out a line of berth events; a line is printed as its
// change comes, so the columns have fixed widths rather than a table's.
const eventColumns = "%-20s  %-8s  %-12s  %-32s  %-20s  %-22s  %s"

var eventHeader = fmt.Sprintf(eventColumns, "TIME", "KIND", "CLUSTER", "TASK/INSTANCE", "DEFINITION", "STATUS", "STOPPED REASON")

// eventLine is one change as berth events prints it.
func eventLine(e api.Event) string {
	var d struct {
		TaskArn              string `json:"taskArn"`
		TaskDefinitionArn    string `json:"taskDefinitionArn"`
		LastStatus           string `json:"lastStatus"`
		DesiredStatus        string `json:"desiredStatus"`
		StoppedReason        string `json:"stoppedReason"`
		ContainerInstanceArn string `json:"containerInstanceArn"`
		Status               string `json:"status"`
	}
	json.Unmarshal(e.Detail, &d) // a detail that does not read shows dashes
	at := e.Time.UTC().Format(time.RFC3339)
	switch e.DetailType {
	case api.DetailTypeTask:
		return trimRight(fmt.Sprintf(eventColumns, at, "task", orDash(clusterOfARN(d.TaskArn)), orDash(lastSegment(d.TaskArn)), orDash(definitionRef(d.TaskDefinitionArn)),
			orDash(d.LastStatus)+" → "+orDash(d.DesiredStatus), d.StoppedReason))
	case api.DetailTypeInstance:
		return trimRight(fmt.Sprintf(eventColumns, at, "instance", orDash(clusterOfARN(d.ContainerInstanceArn)), orDash(lastSegment(d.ContainerInstanceArn)), "-", orDash(d.Status), ""))
	}
	return trimRight(fmt.Sprintf(eventColumns, at, orDash(e.DetailType), "-", "-", "-", "-", ""))
}

func trimRight(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// writeJSONLine prints v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
