package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
)

// topEvery is how often berth top draws a new frame.
const topEvery = time.Second

// topOptions are berth top's flags.
type topOptions struct {
	clientOptions
	cluster string
	once    bool
}

func newTopCommand() *cobra.Command {
	var opts topOptions
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show a cluster's instances and running tasks: CPU and memory registered, reserved and used, live",
		Long: `Show a cluster's container instances and running tasks, redrawn every
second until Ctrl-C, as docker stats and kubectl top do: each instance's CPU
units and memory as bars of what its tasks use (#) and reserve (=) of what it
registers, and each task's use against its reservation, as CloudWatch's
CPUUtilization and MemoryUtilization are computed (used ÷ reserved). The
figures come from the engine's stats, which the server samples every two
seconds; a task's CPU shows once it has two samples.

--once prints one frame and exits, for scripts. When standard output is not
a terminal, frames are printed one after another, without terminal codes.`,
		Example: "  berth top --cluster class\n  berth top --once | grep EC2",
		Args:    argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runTop(cmd.Context(), cmd.OutOrStdout(), &opts)
		}),
	}
	opts.addClientFlags(cmd)
	cmd.Flags().StringVar(&opts.cluster, "cluster", "", "the cluster (default: default)")
	cmd.Flags().BoolVar(&opts.once, "once", false, "print one frame and exit")
	return cmd
}

func runTop(ctx context.Context, out io.Writer, opts *topOptions) error {
	c, err := opts.client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	terminal := isTerminal(out)
	tick := time.NewTicker(topEvery)
	defer tick.Stop()
	for frame := 0; ; frame++ {
		top, err := c.Top(ctx, opts.cluster)
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return serverError(err)
		}
		var b strings.Builder
		switch {
		case terminal && !opts.once:
			b.WriteString("\x1b[H\x1b[2J") // home, and clear the screen
		case frame > 0:
			b.WriteString("\n")
		}
		writeTop(&b, top)
		if _, err := io.WriteString(out, b.String()); err != nil {
			return err
		}
		if opts.once {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// barWidth is the width of a bar inside its brackets.
const barWidth = 20

// writeTop draws one frame of berth top.
func writeTop(w io.Writer, top *api.Top) {
	running := len(top.Tasks)
	sampled := "no stats sampled yet"
	if !top.SampledAt.IsZero() {
		sampled = "stats of " + top.SampledAt.UTC().Format("15:04:05 MST")
	}
	fmt.Fprintf(w, "cluster %s: %s, %s running; %s\n", top.Cluster, plural(len(top.Instances), "instance"), plural(running, "task"), sampled)
	fmt.Fprintf(w, "Fargate: %s of %s vCPUs, %d MiB provisioned\n\n", vcpus(top.Fargate.VCPUs), vcpus(top.Fargate.VCPULimit), top.Fargate.MiB)

	if len(top.Instances) > 0 {
		rows := make([][]string, 0, len(top.Instances))
		for _, in := range top.Instances {
			rows = append(rows, []string{in.ID, orDash(in.Zone), orDash(in.InstanceType), strconv.Itoa(in.RunningTasks),
				bar(in.UsedCPU, in.ReservedCPU, in.RegisteredCPU) + " " + usedOf(in.UsedCPU, in.ReservedCPU, in.RegisteredCPU),
				bar(in.UsedMiB, in.ReservedMiB, in.RegisteredMiB) + " " + usedOf(in.UsedMiB, in.ReservedMiB, in.RegisteredMiB)})
		}
		table(w, "INSTANCE\tZONE\tTYPE\tTASKS\tCPU UNITS used/reserved/registered\tMEMORY MiB used/reserved/registered", rows)
		fmt.Fprintln(w)
	}
	if running == 0 {
		fmt.Fprintln(w, "no task running")
		return
	}
	rows := make([][]string, 0, running)
	for _, t := range top.Tasks {
		cpu, cpuShare := "-", "-"
		if t.Sampled {
			cpu, cpuShare = strconv.FormatFloat(t.UsedCPU, 'f', 0, 64), share(t.UsedCPU, t.ReservedCPU)
		}
		rows = append(rows, []string{t.ID, t.TaskDefinition, t.LaunchType, orDash(t.Instance),
			cpu + "/" + strconv.Itoa(t.ReservedCPU), cpuShare,
			strconv.FormatFloat(t.UsedMiB, 'f', 0, 64) + "/" + strconv.Itoa(t.ReservedMiB), share(t.UsedMiB, t.ReservedMiB)})
	}
	table(w, "TASK\tDEFINITION\tLAUNCH\tINSTANCE\tCPU UNITS\tCPU %\tMEMORY MiB\tMEM %", rows)
}

// bar draws used and reserved of registered: # for what is used, = for
// what is reserved beyond it, . for what is free. A task may use more than
// it reserves (CPU shares are no limit): the bar then fills with #.
func bar(used float64, reserved, registered int) string {
	if registered <= 0 {
		return "[" + strings.Repeat(" ", barWidth) + "]"
	}
	cells := func(v float64) int {
		n := int(v/float64(registered)*barWidth + 0.5)
		return max(0, min(n, barWidth))
	}
	u, r := cells(used), cells(float64(reserved))
	r = max(r, u)
	return "[" + strings.Repeat("#", u) + strings.Repeat("=", r-u) + strings.Repeat(".", barWidth-r) + "]"
}

// usedOf is "used/reserved/registered", used rounded.
func usedOf(used float64, reserved, registered int) string {
	return fmt.Sprintf("%.0f/%d/%d", used, reserved, registered)
}

// share is used over reserved as a percentage, as CloudWatch shows
// CPUUtilization and MemoryUtilization; "-" with nothing reserved.
func share(used float64, reserved int) string {
	if reserved <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", used*100/float64(reserved))
}

// vcpus prints a number of vCPUs without trailing zeros: 0.25, 6.
func vcpus(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
