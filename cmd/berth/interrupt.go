package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
)

// taskInterrupt is what berth task interrupt asks for.
type taskInterrupt struct {
	warning time.Duration
	wait    bool
}

func newTaskInterruptCommand(opts *taskOptions, complete cobra.CompletionFunc) *cobra.Command {
	var ti taskInterrupt
	cmd := &cobra.Command{
		Use:   "interrupt TASK [--warning DURATION]",
		Short: "Reclaim a FARGATE_SPOT task's capacity, as a Fargate Spot interruption does",
		Long: `Reclaim the capacity of a RUNNING task on FARGATE_SPOT, as AWS does when it
needs Spot capacity back: the task's desired status becomes STOPPED with stop
code SpotInterruption and the reason "` + controller.SpotInterruptionReason + `"
(the task state change ECS emits, which -o json prints as EventBridge delivers
it); its containers get SIGTERM, each with its stopTimeout, and whatever still
runs when the warning is up is killed. ECS warns two minutes ahead; --warning
shortens that for a class. A task on FARGATE or a container instance is
refused: only Spot capacity is reclaimed.`,
		Example:           "  berth task interrupt 1a2b3c4d5e6f --warning 10s --wait",
		Args:              argsBetween(1, 1, "one task ID or ARN"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskInterrupt(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args[0], ti)
		}),
	}
	cmd.Flags().DurationVar(&ti.warning, "warning", controller.SpotWarning, "the warning before the capacity is reclaimed: whole seconds, 1s to 2m")
	cmd.Flags().BoolVar(&ti.wait, "wait", false, "wait until the task is STOPPED and say how each container ended")
	return cmd
}

func runTaskInterrupt(ctx context.Context, out, errOut io.Writer, opts *taskOptions, ref string, ti taskInterrupt) error {
	if ti.warning < time.Second || ti.warning > controller.SpotWarning || ti.warning%time.Second != 0 {
		return usageError("--warning %s: want whole seconds from 1s to %s, ECS's warning", ti.warning, controller.SpotWarning)
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	secs := int32(ti.warning / time.Second)
	res, err := c.InterruptTask(ctx, &api.InterruptTaskInput{Cluster: opts.cluster, Task: ref, WarningSeconds: &secs})
	if err != nil {
		return serverError(err)
	}
	t := res.Event.Detail
	if opts.output == "json" && !ti.wait {
		return writeJSON(out, res.Event)
	}
	if opts.output != "json" {
		fmt.Fprintf(out, "interrupted %s (%s, %s): desired %s, last %s, stop code %s: %s\n", lastSegment(t.TaskArn), definitionRef(t.TaskDefinitionArn),
			orDash(t.CapacityProviderName), t.DesiredStatus, t.LastStatus, t.StopCode, t.StoppedReason)
		fmt.Fprintf(out, "its containers got SIGTERM; what still runs at %s (%s warning) is killed\n", res.StopBy.UTC().Format("15:04:05 UTC"), ti.warning)
	}
	if !ti.wait {
		return nil
	}
	tasks, err := waitTasks(ctx, c, errOut, opts.cluster, []string{t.TaskArn}, "STOPPED")
	if err != nil {
		return fmt.Errorf("wait for STOPPED: %w", err)
	}
	if opts.output == "json" {
		return writeJSON(out, struct {
			Event api.TaskStateChangeEvent `json:"event"`
			Task  api.Task                 `json:"task"`
		}{res.Event, tasks[0]})
	}
	stopped := tasks[0]
	fmt.Fprintf(out, "%s is %s after %s\n", lastSegment(stopped.TaskArn), stopped.LastStatus, stopped.StoppedAt.Sub(stopped.StoppingAt.Time).Round(100*time.Millisecond))
	for _, ctr := range stopped.Containers {
		exit := "-"
		if ctr.ExitCode != nil {
			exit = fmt.Sprint(*ctr.ExitCode)
		}
		fmt.Fprintf(out, "  %s exited %s%s\n", ctr.Name, exit, orEmpty(" ("+killedOrNot(ctr.ExitCode)+")", killedOrNot(ctr.ExitCode)))
	}
	return nil
}

// killedOrNot says what an exit code tells of how a container ended.
func killedOrNot(code *int32) string {
	switch {
	case code == nil:
		return ""
	case *code == 137:
		return "SIGKILL: it outlasted its stopTimeout or the warning"
	case *code == 143:
		return "SIGTERM, unhandled"
	}
	return "it exited on its own after SIGTERM"
}
