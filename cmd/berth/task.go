package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// clock is the time ages are told from.
var clock = time.Now

// pollEvery is how often a waiting command asks the server again.
const pollEvery = 500 * time.Millisecond

// taskOptions are the client flags of the task commands and the cluster
// they act in.
type taskOptions struct {
	clientOptions
	cluster string
}

// taskRun is what berth task run asks for.
type taskRun struct {
	count       int
	launchType  string
	providers   []string
	subnets     []string
	strategies  []string
	constraints []string
	env         []string
	group       string
	startedBy   string
	wait        bool
}

// taskFilter is what berth task list lists.
type taskFilter struct {
	family, status, instance, launchType string
}

func newTaskCommand() *cobra.Command {
	var opts taskOptions
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Run, list, describe, stop, interrupt and wait for the tasks of a cluster, and print their logs",
		Args:  argsBetween(0, 0, "a subcommand: run, list, describe, stop, wait, interrupt or logs"),
	}
	opts.addClientFlags(cmd, "table", "json", "wide")
	cmd.PersistentFlags().StringVar(&opts.cluster, "cluster", "", "the cluster (default: default)")
	cmd.RegisterFlagCompletionFunc("cluster", completeFrom(&opts.clientOptions, clusterNames))
	complete := completeFrom(&opts.clientOptions, taskIDs(&opts.cluster))
	var run taskRun
	runCmd := &cobra.Command{
		Use:   "run FAMILY[:REVISION]|FILE",
		Short: "Run tasks on the cluster (RunTask), placed by the server",
		Long: `Run tasks of a registered task definition, or of a FILE, which is registered
first as berth taskdef register does. The server places them: --strategy and
--constraint are ECS's placement strategies and constraints. A Fargate task
with no --subnet goes in berth's first subnet.`,
		Args:              argsBetween(1, 1, "one FAMILY[:REVISION], ARN or FILE"),
		ValidArgsFunction: completeFileOrFamily(func(context.Context) *clientOptions { return &opts.clientOptions }),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskRun(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &opts, args[0], run)
		}),
	}
	rf := runCmd.Flags()
	rf.IntVar(&run.count, "count", 1, "how many tasks (1 to 10)")
	rf.StringVar(&run.launchType, "launch-type", "", "EC2 or FARGATE (default: the server's, EC2)")
	rf.StringArrayVar(&run.providers, "capacity-provider", nil, "a capacity provider of the strategy, FARGATE or FARGATE_SPOT, as NAME[:WEIGHT[:BASE]] (repeatable; weight 1 by default)")
	rf.StringArrayVar(&run.subnets, "subnet", nil, "an awsvpc task's subnet (repeatable)")
	rf.StringArrayVar(&run.strategies, "strategy", nil, "a placement strategy: binpack:cpu|memory, spread:FIELD or random (repeatable, in order)")
	rf.StringArrayVar(&run.constraints, "constraint", nil, "a placement constraint: distinctInstance or memberOf:EXPRESSION (repeatable)")
	rf.StringArrayVar(&run.env, "env", nil, "set NAME=VALUE in every container (repeatable)")
	rf.StringVar(&run.group, "group", "", "the task group (default: family:FAMILY)")
	rf.StringVar(&run.startedBy, "started-by", "", "who started the tasks, as ListTasks filters them")
	rf.BoolVar(&run.wait, "wait", false, "wait until each task is RUNNING or STOPPED")
	var filter taskFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List a cluster's tasks (ListTasks, DescribeTasks)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runTaskList(cmd.Context(), cmd.OutOrStdout(), &opts, filter)
		}),
	}
	lf := list.Flags()
	lf.StringVar(&filter.family, "family", "", "only tasks of this family")
	lf.StringVar(&filter.status, "status", "RUNNING", "the desired status: RUNNING (also the pending) or STOPPED")
	lf.StringVar(&filter.instance, "instance", "", "only tasks on this container instance")
	list.RegisterFlagCompletionFunc("family", completeFrom(&opts.clientOptions, familyNames))
	list.RegisterFlagCompletionFunc("instance", completeFrom(&opts.clientOptions, instanceIDs(&opts.cluster)))
	lf.StringVar(&filter.launchType, "launch-type", "", "only EC2 or FARGATE tasks")
	describe := &cobra.Command{
		Use:               "describe TASK…",
		Short:             "Describe tasks (DescribeTasks): overview, containers, network and times",
		Args:              argsBetween(1, 100, "one to 100 task IDs or ARNs"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskDescribe(cmd.Context(), cmd.OutOrStdout(), &opts, args)
		}),
	}
	var reason string
	stop := &cobra.Command{
		Use:               "stop TASK…",
		Short:             "Stop tasks (StopTask)",
		Args:              argsBetween(1, -1, "one or more task IDs or ARNs"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskStop(cmd.Context(), cmd.OutOrStdout(), &opts, args, reason)
		}),
	}
	stop.Flags().StringVar(&reason, "reason", "", "why, as the task's stopped reason shows it")
	var status string
	wait := &cobra.Command{
		Use:               "wait TASK… --status RUNNING|STOPPED",
		Short:             "Wait until tasks reach a status",
		Args:              argsBetween(1, 100, "one to 100 task IDs or ARNs"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskWait(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), &opts, args, status)
		}),
	}
	wait.Flags().StringVar(&status, "status", "", "RUNNING or STOPPED")
	cmd.AddCommand(runCmd, list, describe, stop, wait, newTaskInterruptCommand(&opts, complete), newTaskLogsCommand(&opts, complete))
	return cmd
}

// parsePlacement reads --strategy and --constraint as ECS's shapes.
func parsePlacement(strategies, constraints []string) ([]api.PlacementStrategy, []api.PlacementConstraint, error) {
	var ss []api.PlacementStrategy
	for _, s := range strategies {
		typ, field, _ := strings.Cut(s, ":")
		switch {
		case typ == "random" && field == "":
		case (typ == "binpack" || typ == "spread") && field != "":
		default:
			return nil, nil, usageError("--strategy %q: want binpack:cpu, binpack:memory, spread:FIELD (instanceId, attribute:NAME) or random", s)
		}
		ss = append(ss, api.PlacementStrategy{Type: typ, Field: field})
	}
	var cs []api.PlacementConstraint
	for _, c := range constraints {
		typ, expr, _ := strings.Cut(c, ":")
		switch {
		case typ == "distinctInstance" && expr == "":
		case typ == "memberOf" && expr != "":
		default:
			return nil, nil, usageError("--constraint %q: want distinctInstance or memberOf:EXPRESSION", c)
		}
		cs = append(cs, api.PlacementConstraint{Type: typ, Expression: expr})
	}
	return ss, cs, nil
}

func runTaskRun(ctx context.Context, stdin io.Reader, out, errOut io.Writer, opts *taskOptions, ref string, run taskRun) error {
	if run.count < 1 || run.count > 10 {
		return usageError("--count %d: want 1 to 10", run.count)
	}
	run.launchType = strings.ToUpper(run.launchType)
	if err := checkLaunchType(run.launchType); err != nil {
		return err
	}
	strategies, constraints, err := parsePlacement(run.strategies, run.constraints)
	if err != nil {
		return err
	}
	env, err := parseEnv(run.env)
	if err != nil {
		return err
	}
	providers, err := parseCapacityProviders(run.providers, run.launchType)
	if err != nil {
		return err
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	td, err := runnableDefinition(ctx, stdin, out, c, ref)
	if err != nil {
		return err
	}
	count := int32(run.count)
	in := &api.RunTaskInput{Cluster: opts.cluster, TaskDefinition: td.TaskDefinitionArn, Count: &count, LaunchType: run.launchType,
		PlacementStrategy: strategies, PlacementConstraints: constraints, Group: run.group, StartedBy: run.startedBy,
		CapacityProviderStrategy: providers}
	subnets := run.subnets
	if len(subnets) == 0 && (run.launchType == taskdef.LaunchFargate || len(providers) > 0) {
		first := fargate.DefaultSubnets(controller.DefaultRegion)[0]
		subnets = []string{first.ID}
		fmt.Fprintf(errOut, "berth: no --subnet: the tasks go in %s (%s), the first of berth's subnets\n", first.ID, first.AvailabilityZone)
	}
	if len(subnets) > 0 {
		in.NetworkConfiguration = &api.NetworkConfiguration{AwsvpcConfiguration: &api.AwsVpcConfiguration{Subnets: subnets}}
	}
	if len(env) > 0 {
		in.Overrides = &api.TaskOverride{}
		for _, ctr := range td.ContainerDefinitions {
			in.Overrides.ContainerOverrides = append(in.Overrides.ContainerOverrides, api.ContainerOverride{Name: ctr.Name, Environment: env})
		}
	}
	res, err := c.RunTask(ctx, in)
	if err != nil {
		return serverError(err)
	}
	tasks := res.Tasks
	if run.wait && len(tasks) > 0 {
		if tasks, err = waitTasks(ctx, c, errOut, opts.cluster, taskARNs(tasks), "RUNNING"); err != nil {
			return err
		}
	}
	if opts.output == "json" {
		if err := writeJSON(out, api.RunTaskOutput{Tasks: tasks, Failures: res.Failures}); err != nil {
			return err
		}
	} else {
		if len(tasks) > 0 {
			if err := writeTaskTable(out, tasks, opts.output == "wide", clock()); err != nil {
				return err
			}
		}
		for _, f := range res.Failures {
			fmt.Fprintf(out, "not placed: %s%s\n", f.Reason, orEmpty(" ("+f.Detail+")", f.Detail)+orEmpty(" on "+lastSegment(f.Arn), f.Arn))
		}
	}
	if len(res.Failures) > 0 || len(tasks) == 0 {
		return &exitError{code: exitFailure}
	}
	return nil
}

// runnableDefinition is the definition ref names: a registered one, or a
// FILE's, registered now.
func runnableDefinition(ctx context.Context, stdin io.Reader, out io.Writer, c *client.Client, ref string) (*api.TaskDefinition, error) {
	if _, err := os.Stat(ref); err != nil && ref != "-" {
		res, err := c.DescribeTaskDefinition(ctx, &api.DescribeTaskDefinitionInput{TaskDefinition: ref})
		if err != nil {
			return nil, serverError(err)
		}
		return res.TaskDefinition, nil
	}
	data, err := readDefinition(stdin, ref)
	if err != nil {
		return nil, usageError("%s: cannot read: %v", ref, err)
	}
	task, report, err := taskdef.Load(data, taskdef.Options{})
	if err != nil {
		return nil, usageError("%s: %v", ref, err)
	}
	if !report.Valid() {
		writeTextReport(out, fileReport{File: ref, Errors: report.Errors})
		return nil, &exitError{code: exitInvalid}
	}
	res, err := c.RegisterTaskDefinition(ctx, &task.Definition)
	if err != nil {
		return nil, serverError(err)
	}
	return res.TaskDefinition, nil
}

func taskARNs(tasks []api.Task) []string {
	arns := make([]string, len(tasks))
	for i, t := range tasks {
		arns[i] = t.TaskArn
	}
	return arns
}

// waitTasks waits until each task is at status, or STOPPED: a task that
// stops while it is waited on to run ends the wait too. On a terminal a
// progress line says how many are there.
func waitTasks(ctx context.Context, c *client.Client, progress io.Writer, cluster string, arns []string, status string) ([]api.Task, error) {
	tty := isTerminal(progress)
	for {
		tasks, err := describeTasks(ctx, c, cluster, arns, nil)
		if err != nil {
			return nil, err
		}
		done := 0
		for _, t := range tasks {
			if t.LastStatus == status || t.LastStatus == "STOPPED" {
				done++
			}
		}
		if tty {
			fmt.Fprintf(progress, "\rwaiting for %s: %d of %d", status, done, len(arns))
		}
		if done == len(arns) {
			if tty {
				fmt.Fprintln(progress)
			}
			return tasks, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// describeTasks describes tasks a hundred at a time; a task the server
// does not know is an error in ECS's words.
func describeTasks(ctx context.Context, c *client.Client, cluster string, refs, include []string) ([]api.Task, error) {
	tasks := []api.Task{}
	for start := 0; start < len(refs); start += 100 {
		res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: cluster, Tasks: refs[start:min(start+100, len(refs))], Include: include})
		if err != nil {
			return nil, serverError(err)
		}
		if len(res.Failures) > 0 {
			f := res.Failures[0]
			return nil, &exitError{code: exitFailure, msg: f.Arn + ": " + f.Reason}
		}
		tasks = append(tasks, res.Tasks...)
	}
	return tasks, nil
}

func runTaskList(ctx context.Context, out io.Writer, opts *taskOptions, f taskFilter) error {
	f.status, f.launchType = strings.ToUpper(f.status), strings.ToUpper(f.launchType)
	if f.status != "RUNNING" && f.status != "STOPPED" {
		return usageError("--status %q: want RUNNING or STOPPED", f.status)
	}
	if err := checkLaunchType(f.launchType); err != nil {
		return err
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	arns, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListTasks(ctx, &api.ListTasksInput{Cluster: opts.cluster, Family: f.family, DesiredStatus: f.status,
			ContainerInstance: f.instance, LaunchType: f.launchType, NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.TaskArns, res.NextToken, nil
	})
	if err != nil {
		return serverError(err)
	}
	tasks, err := describeTasks(ctx, c, opts.cluster, arns, nil)
	if err != nil {
		return err
	}
	if opts.output == "json" {
		return writeJSON(out, tasks)
	}
	return writeTaskTable(out, tasks, opts.output == "wide", clock())
}

// writeTaskTable prints tasks one a line, with the columns of the ECS
// console's task list; wide adds where and how they run.
func writeTaskTable(out io.Writer, tasks []api.Task, wide bool, now time.Time) error {
	header := "TASK\tDEFINITION\tLAUNCH\tSTATUS\tHEALTH\tINSTANCE/ADDRESS\tPORTS\tSTARTED\tSTOPPED REASON"
	if wide {
		header += "\tZONE\tCPU\tMEMORY\tGROUP\tSTARTED BY\tCREATED"
	}
	rows := make([][]string, len(tasks))
	for i, t := range tasks {
		rows[i] = []string{lastSegment(t.TaskArn), definitionRef(t.TaskDefinitionArn), orDash(t.LaunchType),
			t.LastStatus + "/" + t.DesiredStatus, orDash(t.HealthStatus), where(t), orDash(strings.Join(ports(t), ", ")),
			age(t.StartedAt.Time, now), orDash(t.StoppedReason)}
		if wide {
			rows[i] = append(rows[i], orDash(t.AvailabilityZone), orDash(t.CPU), orDash(t.Memory), orDash(t.Group), orDash(t.StartedBy), age(t.CreatedAt.Time, now))
		}
	}
	return table(out, header, rows)
}

// definitionRef is family:revision of a task definition ARN.
func definitionRef(arn string) string {
	family, rev, err := api.TaskDefinitionRef(arn)
	if err != nil {
		return arn
	}
	return family + ":" + strconv.Itoa(rev)
}

// where a task runs: its instance's ID, else its network interface's
// private address.
func where(t api.Task) string {
	if t.ContainerInstanceArn != "" {
		return lastSegment(t.ContainerInstanceArn)
	}
	if ip := eniDetail(t, "privateIPv4Address"); ip != "" {
		return ip
	}
	return "-"
}

// eniDetail is a detail of the task's network interface attachment.
func eniDetail(t api.Task, name string) string {
	for _, a := range t.Attachments {
		if v := a.Detail(name); a.Type == "ElasticNetworkInterface" && v != "" {
			return v
		}
	}
	return ""
}

// ports are a task's bound ports as docker ps prints them:
// 127.0.0.2:49153->8080/tcp.
func ports(t api.Task) []string {
	var out []string
	for _, ctr := range t.Containers {
		for _, b := range ctr.NetworkBindings {
			out = append(out, binding(b))
		}
	}
	return out
}

func binding(b api.NetworkBinding) string {
	port := func(p *int32, rng string) string {
		if p != nil {
			return strconv.Itoa(int(*p))
		}
		return rng
	}
	return fmt.Sprintf("%s:%s->%s/%s", orDash(b.BindIP), port(b.HostPort, b.HostPortRange), port(b.ContainerPort, b.ContainerPortRange), orTCP(b.Protocol))
}

func runTaskDescribe(ctx context.Context, out io.Writer, opts *taskOptions, refs []string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: opts.cluster, Tasks: refs, Include: []string{"TAGS"}})
	if err != nil {
		return serverError(err)
	}
	now := clock()
	return describe(out, opts.output, res, res.Tasks, func(t api.Task) { writeTask(out, t, now) }, res.Failures)
}

// writeTask prints every field of a task, grouped as the ECS console's
// task page groups them: its overview, its configuration, the overrides
// it was run with, its containers, network bindings and interface, and
// its timestamps from created to stopped.
func writeTask(out io.Writer, t api.Task, now time.Time) {
	section := func(title string, rows [][]string) {
		var shown [][]string
		for _, r := range rows {
			if r[1] != "" {
				shown = append(shown, r)
			}
		}
		fmt.Fprintln(out, title)
		writeFields(out, "  ", 19, shown)
	}
	overview := [][]string{
		{"Task:", lastSegment(t.TaskArn)},
		{"ARN:", t.TaskArn},
		{"Cluster:", clusterOfARN(t.TaskArn)},
		{"Task definition:", definitionRef(t.TaskDefinitionArn)},
		{"Last status:", t.LastStatus},
		{"Desired status:", t.DesiredStatus},
		{"Health:", t.HealthStatus},
		{"Version:", strconv.FormatInt(t.Version, 10)},
		{"Group:", t.Group},
		{"Started by:", t.StartedBy},
		{"Stop code:", t.StopCode},
		{"Stopped reason:", t.StoppedReason},
	}
	for _, tag := range t.Tags {
		overview = append(overview, []string{"Tag " + tag.Key + ":", tag.Value})
	}
	section("Overview", overview)

	storage := ""
	switch {
	case t.EphemeralStorage != nil:
		storage = fmt.Sprintf("%d GiB", t.EphemeralStorage.SizeInGiB)
	case t.FargateEphemeralStorage != nil && t.FargateEphemeralStorage.SizeInGiB > 0:
		storage = fmt.Sprintf("%d GiB", t.FargateEphemeralStorage.SizeInGiB)
	}
	exec := "off"
	if t.EnableExecuteCommand {
		exec = "on"
	}
	config := [][]string{
		{"Launch type:", t.LaunchType},
		{"Capacity provider:", t.CapacityProviderName},
		{"Platform version:", t.PlatformVersion},
		{"Platform family:", t.PlatformFamily},
		{"Container instance:", lastSegment(t.ContainerInstanceArn)},
		{"Zone:", t.AvailabilityZone},
		{"CPU:", t.CPU},
		{"Memory:", t.Memory},
		{"Ephemeral storage:", storage},
		{"Connectivity:", t.Connectivity},
		{"Execute command:", exec},
	}
	for _, a := range t.Attributes {
		config = append(config, []string{"Attribute " + a.Name + ":", orDash(a.Value)})
	}
	for _, ia := range t.InferenceAccelerators {
		config = append(config, []string{"Accelerator " + ia.DeviceName + ":", ia.DeviceType})
	}
	fmt.Fprintln(out)
	section("Configuration", config)

	if rows := overrideRows(t.Overrides); len(rows) > 0 {
		fmt.Fprintln(out)
		section("Overrides", rows)
	}

	fmt.Fprintln(out, "\nContainers")
	ctrs := make([][]string, len(t.Containers))
	var bindings [][]string
	for i, ctr := range t.Containers {
		exit := "-"
		if ctr.ExitCode != nil {
			exit = strconv.Itoa(int(*ctr.ExitCode))
		}
		memory := ctr.Memory
		if ctr.MemoryReservation != "" {
			memory = strings.TrimPrefix(orEmpty(ctr.Memory, ctr.Memory)+" (soft "+ctr.MemoryReservation+")", " ")
		}
		ctrs[i] = []string{"  " + ctr.Name, ctr.Image, orDash(ctr.LastStatus), exit, orDash(ctr.HealthStatus), orDash(shortID(ctr.RuntimeID)),
			orDash(ctr.CPU), orDash(memory), orDash(ctr.Reason)}
		for _, b := range ctr.NetworkBindings {
			bindings = append(bindings, []string{"  " + ctr.Name, binding(b)})
		}
	}
	table(out, "  NAME\tIMAGE\tSTATUS\tEXIT CODE\tHEALTH\tRUNTIME ID\tCPU\tMEMORY\tREASON", ctrs)
	var more [][]string
	for _, ctr := range t.Containers {
		for _, r := range [][]string{{"image digest", ctr.ImageDigest}, {"GPUs", strings.Join(ctr.GpuIDs, ", ")}} {
			if r[1] != "" {
				more = append(more, []string{ctr.Name + " " + r[0] + ":", r[1]})
			}
		}
		for _, ni := range ctr.NetworkInterfaces {
			more = append(more, []string{ctr.Name + " address:", strings.TrimSuffix(ni.PrivateIpv4Address+" "+ni.Ipv6Address, " ") + " (attachment " + ni.AttachmentID + ")"})
		}
		for _, ma := range ctr.ManagedAgents {
			more = append(more, []string{ctr.Name + " " + ma.Name + ":", ma.LastStatus + orEmpty(" ("+ma.Reason+")", ma.Reason)})
		}
	}
	if len(more) > 0 {
		writeFields(out, "  ", 19, more)
	}
	if len(bindings) > 0 {
		fmt.Fprintln(out, "\nNetwork bindings")
		table(out, "  CONTAINER\tBINDING", bindings)
	}
	for _, a := range t.Attachments {
		rows := [][]string{{"ID:", a.ID}, {"Type:", a.Type}, {"Status:", a.Status}}
		for _, d := range a.Details {
			rows = append(rows, []string{d.Name + ":", d.Value})
		}
		fmt.Fprintln(out)
		section("Network interface", rows)
	}
	fmt.Fprintln(out)
	times := [][]string{
		{"Created:", timestamp(t.CreatedAt)},
		{"Pull started:", timestamp(t.PullStartedAt)},
		{"Pull stopped:", timestamp(t.PullStoppedAt)},
		{"Connected:", timestamp(t.ConnectivityAt)},
		{"Started:", timestamp(t.StartedAt)},
		{"Stopping:", timestamp(t.StoppingAt)},
		{"Execution stopped:", timestamp(t.ExecutionStoppedAt)},
		{"Stopped:", timestamp(t.StoppedAt)},
	}
	for _, r := range times {
		if r[1] == "-" {
			r[1] = ""
		}
	}
	section("Timestamps", times)
}

// overrideRows are the overrides a task was run with: the task's, then
// each container's.
func overrideRows(o *api.TaskOverride) [][]string {
	if o == nil {
		return nil
	}
	rows := [][]string{{"CPU:", o.CPU}, {"Memory:", o.Memory}, {"Task role:", o.TaskRoleArn}, {"Execution role:", o.ExecutionRoleArn}}
	if o.EphemeralStorage != nil {
		rows = append(rows, []string{"Ephemeral storage:", fmt.Sprintf("%d GiB", o.EphemeralStorage.SizeInGiB)})
	}
	for _, ia := range o.InferenceAcceleratorOverrides {
		rows = append(rows, []string{"Accelerator " + ia.DeviceName + ":", ia.DeviceType})
	}
	for _, c := range o.ContainerOverrides {
		var what []string
		if len(c.Command) > 0 {
			what = append(what, "command "+strings.Join(c.Command, " "))
		}
		for _, e := range c.Environment {
			what = append(what, e.Name+"="+e.Value)
		}
		for _, f := range c.EnvironmentFiles {
			what = append(what, "environment file "+f.Value)
		}
		for _, n := range []struct {
			name string
			v    *int32
		}{{"cpu", c.CPU}, {"memory", c.Memory}, {"memoryReservation", c.MemoryReservation}} {
			if n.v != nil {
				what = append(what, fmt.Sprintf("%s %d", n.name, *n.v))
			}
		}
		for _, r := range c.ResourceRequirements {
			what = append(what, r.Type+" "+r.Value)
		}
		rows = append(rows, []string{"Container " + c.Name + ":", strings.Join(what, ", ")})
	}
	var shown [][]string
	for _, r := range rows {
		if r[1] != "" {
			shown = append(shown, r)
		}
	}
	return shown
}

// shortID is a container ID as docker ps prints it.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// timestamp is t in UTC with how long ago it was, or "-".
func timestamp(t api.Timestamp) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + " (" + age(t.Time, clock()) + ")"
}

func runTaskStop(ctx context.Context, out io.Writer, opts *taskOptions, refs []string, reason string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	var stopped []*api.StopTaskOutput
	for _, ref := range refs {
		res, err := c.StopTask(ctx, &api.StopTaskInput{Cluster: opts.cluster, Task: ref, Reason: reason})
		if err != nil {
			return serverError(err)
		}
		stopped = append(stopped, res)
		if opts.output != "json" {
			fmt.Fprintf(out, "stopping %s (%s, %s, desired %s)\n", lastSegment(res.Task.TaskArn), definitionRef(res.Task.TaskDefinitionArn), res.Task.LastStatus, res.Task.DesiredStatus)
		}
	}
	if opts.output == "json" {
		return writeJSON(out, stopped)
	}
	return nil
}

func runTaskWait(ctx context.Context, out, errOut io.Writer, opts *taskOptions, refs []string, status string) error {
	status = strings.ToUpper(status)
	if status != "RUNNING" && status != "STOPPED" {
		return usageError("--status %q: want RUNNING or STOPPED", status)
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	tasks, err := waitTasks(ctx, c, errOut, opts.cluster, refs, status)
	if err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			return err
		}
		return fmt.Errorf("wait for %s: %w", status, err)
	}
	if opts.output == "json" {
		return writeJSON(out, tasks)
	}
	var missed []string
	for _, t := range tasks {
		fmt.Fprintf(out, "%s is %s%s\n", lastSegment(t.TaskArn), t.LastStatus, orEmpty(": "+t.StoppedReason, t.StoppedReason))
		if t.LastStatus != status {
			missed = append(missed, lastSegment(t.TaskArn))
		}
	}
	if len(missed) > 0 {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("%s stopped before it was %s", strings.Join(missed, ", "), status)}
	}
	return nil
}

// taskIDs completes the IDs of the cluster's tasks, running and stopped.
func taskIDs(cluster *string) func(ctx context.Context, c *client.Client, _ string) []string {
	return func(ctx context.Context, c *client.Client, _ string) []string {
		var ids []string
		for _, status := range []string{"RUNNING", "STOPPED"} {
			arns, err := client.AllPages(func(token string) ([]string, string, error) {
				res, err := c.ListTasks(ctx, &api.ListTasksInput{Cluster: *cluster, DesiredStatus: status, NextToken: token})
				if err != nil {
					return nil, "", err
				}
				return res.TaskArns, res.NextToken, nil
			})
			if err != nil {
				return nil
			}
			for _, arn := range arns {
				ids = append(ids, lastSegment(arn))
			}
		}
		sort.Strings(ids)
		return ids
	}
}

// parseCapacityProviders reads --capacity-provider NAME[:WEIGHT[:BASE]]
// as RunTask's capacityProviderStrategy; the server checks it as ECS does.
func parseCapacityProviders(flags []string, launchType string) ([]api.CapacityProviderStrategyItem, error) {
	if len(flags) > 0 && launchType != "" {
		return nil, usageError("--capacity-provider and --launch-type exclude each other, as in RunTask")
	}
	var out []api.CapacityProviderStrategyItem
	for _, f := range flags {
		parts := strings.Split(f, ":")
		item := api.CapacityProviderStrategyItem{CapacityProvider: parts[0], Weight: 1}
		nums := []*int32{&item.Weight, &item.Base}
		if parts[0] == "" || len(parts) > 3 {
			return nil, usageError("--capacity-provider %q: want NAME[:WEIGHT[:BASE]], such as FARGATE_SPOT:3 or FARGATE:1:2", f)
		}
		for i, p := range parts[1:] {
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				return nil, usageError("--capacity-provider %q: %q is not a whole number", f, p)
			}
			*nums[i] = int32(n)
		}
		out = append(out, item)
	}
	return out, nil
}
