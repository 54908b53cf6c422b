package main

import (
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/agent"
)

// newCgroupCommand makes and removes task cgroups for an agent that may
// not write the host's cgroups itself: the agent runs it through the
// engine, in a container of the berth/pause image with the host's cgroup
// root mounted at --root.
func newCgroupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "cgroup",
		Short:  "Make or remove task cgroups (run by the agent through the engine)",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	var root string
	var version int
	cmd.PersistentFlags().StringVar(&root, "root", agent.DefaultCgroupRoot, "where the cgroup hierarchies are mounted")
	cmd.PersistentFlags().IntVar(&version, "version", 1, "the cgroup version of the hierarchies: 1 or 2")

	var cpu, memory int
	create := &cobra.Command{
		Use:   "create TASKID",
		Short: "Make a task's cgroup with its cpu and memory limits",
		Args:  argsBetween(1, 1, "one task ID"),
		RunE: failingWith(exitFailure, func(_ *cobra.Command, args []string) error {
			return agent.CreateTaskCgroup(root, version, args[0], cpu, memory)
		}),
	}
	create.Flags().IntVar(&cpu, "cpu", 0, "task cpu units (1024 = one CPU); 0 for no quota")
	create.Flags().IntVar(&memory, "memory", 0, "task memory in MiB; 0 for no limit")

	remove := &cobra.Command{
		Use:   "remove TASKID...",
		Short: "Remove tasks' cgroups",
		Args:  argsBetween(1, -1, "one task ID or more"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return agent.RemoveTaskCgroups(cmd.Context(), root, version, args...)
		}),
	}
	cmd.AddCommand(create, remove)
	return cmd
}
