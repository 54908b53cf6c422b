package main

import (
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/agent/cgroups"
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
	var root, slice string
	var version int
	cmd.PersistentFlags().StringVar(&root, "root", cgroups.DefaultRoot, "where the cgroup hierarchies are mounted")
	cmd.PersistentFlags().IntVar(&version, "version", 1, "the cgroup version of the hierarchies: 1 or 2")
	cmd.PersistentFlags().StringVar(&slice, "slice", "", "the container instance slice the task cgroups are in; none when empty")

	var cpu, memory int
	create := &cobra.Command{
		Use:   "create TASKID",
		Short: "Make a task's cgroup with its cpu and memory limits",
		Args:  argsBetween(1, 1, "one task ID"),
		RunE: failingWith(exitFailure, func(_ *cobra.Command, args []string) error {
			return cgroups.CreateTaskCgroup(root, version, slice, args[0], cpu, memory)
		}),
	}
	create.Flags().IntVar(&cpu, "cpu", 0, "task cpu units (1024 = one CPU); 0 for no quota")
	create.Flags().IntVar(&memory, "memory", 0, "task memory in MiB; 0 for no limit")

	remove := &cobra.Command{
		Use:   "remove TASKID...",
		Short: "Remove tasks' cgroups",
		Args:  argsBetween(1, -1, "one task ID or more"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return cgroups.RemoveTaskCgroups(cmd.Context(), root, version, slice, args...)
		}),
	}
	var sliceCPU, sliceMemory int
	createSlice := &cobra.Command{
		Use:   "create-slice NAME",
		Short: "Make a container instance's slice with its cpu weight and memory limit, or write them anew",
		Args:  argsBetween(1, 1, "one slice name"),
		RunE: failingWith(exitFailure, func(_ *cobra.Command, args []string) error {
			return cgroups.CreateSliceCgroup(root, version, cgroups.Slice{Name: args[0], CPU: sliceCPU, MemoryMiB: sliceMemory})
		}),
	}
	createSlice.Flags().IntVar(&sliceCPU, "cpu", 0, "the instance's cpu units, its cpu weight")
	createSlice.Flags().IntVar(&sliceMemory, "memory", 0, "the instance's memory in MiB; 0 for no limit")
	removeSlice := &cobra.Command{
		Use:   "remove-slice NAME",
		Short: "Remove a container instance's slice, which holds no task any more",
		Args:  argsBetween(1, 1, "one slice name"),
		RunE: failingWith(exitFailure, func(_ *cobra.Command, args []string) error {
			return cgroups.RemoveSliceCgroup(root, version, args[0])
		}),
	}
	cmd.AddCommand(create, remove, createSlice, removeSlice)
	return cmd
}
