package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
)

// The attributes an instance's zone and type are read from, as the ECS
// agent sets them.
const (
	attrZone         = "ecs.availability-zone"
	attrInstanceType = "ecs.instance-type"
	// attrHostAddress is berth's: the instance's own loopback address,
	// where its tasks' ports bind.
	attrHostAddress = controller.AttrHostAddress
)

// instanceOptions are the client flags of the instance commands and the
// cluster they act in.
type instanceOptions struct {
	clientOptions
	cluster string
}

// instanceRegistration is what berth instance register asks for.
type instanceRegistration struct {
	instanceType string
	cpu, memory  int
	zone         string
	attributes   []string
}

func newInstanceCommand() *cobra.Command {
	var opts instanceOptions
	cmd := &cobra.Command{
		Use:   "instance",
		Short: "Register, list, describe, drain and deregister the container instances of a cluster",
		Args:  argsBetween(0, 0, "a subcommand: register, list, describe, drain, activate, deregister or attributes"),
	}
	opts.addClientFlags(cmd, "table", "json", "wide")
	cmd.PersistentFlags().StringVar(&opts.cluster, "cluster", "", "the cluster (default: default)")
	cmd.RegisterFlagCompletionFunc("cluster", completeFrom(&opts.clientOptions, clusterNames))
	complete := completeFrom(&opts.clientOptions, instanceIDs(&opts.cluster))
	var reg instanceRegistration
	register := &cobra.Command{
		Use:   "register",
		Short: "Register a container instance of this engine (RegisterContainerInstance)",
		Long: `Register a container instance: a slice of the local engine that placement
treats as an EC2 instance. Its size is --instance-type's (an EC2 type such as
t3.small), or --cpu and --memory, else this machine's.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runInstanceRegister(cmd.Context(), cmd.OutOrStdout(), &opts, reg)
		}),
	}
	rf := register.Flags()
	rf.StringVar(&reg.instanceType, "instance-type", "", "the EC2 instance type whose size it has (sets ecs.instance-type)")
	rf.IntVar(&reg.cpu, "cpu", 0, "CPU units it offers (1024 a vCPU)")
	rf.IntVar(&reg.memory, "memory", 0, "MiB of memory it offers")
	rf.StringVar(&reg.zone, "zone", "", "its availability zone (sets ecs.availability-zone)")
	rf.StringArrayVar(&reg.attributes, "attribute", nil, "a custom attribute NAME=VALUE (repeatable)")
	var filter, status string
	list := &cobra.Command{
		Use:   "list",
		Short: "List a cluster's container instances, with what they hold",
		Long: `List a cluster's container instances: where their tasks bind ports, their
zone and type, the CPU units and MiB left of what they registered, their
tasks, whether their agent is connected and its version (the berth agent's
for an instance of another engine, the server's for one of its own engine),
and where they run. -o wide adds the EC2 instance ID, the engine's version
and when each registered.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runInstanceList(cmd.Context(), cmd.OutOrStdout(), &opts, filter, status)
		}),
	}
	list.Flags().StringVar(&filter, "filter", "", "a cluster query expression, such as attribute:ecs.availability-zone == us-east-1a")
	list.Flags().StringVar(&status, "status", "", "only instances with this status: ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED")
	describe := &cobra.Command{
		Use:               "describe ID…",
		Short:             "Describe container instances (DescribeContainerInstances)",
		Args:              argsBetween(1, 100, "one to 100 instance IDs or ARNs"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runInstanceDescribe(cmd.Context(), cmd.OutOrStdout(), &opts, args)
		}),
	}
	state := func(verb, status, short string) *cobra.Command {
		return &cobra.Command{
			Use:               verb + " ID…",
			Short:             short,
			Args:              argsBetween(1, 10, "one to 10 instance IDs or ARNs"),
			ValidArgsFunction: complete,
			RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
				return runInstanceState(cmd.Context(), cmd.OutOrStdout(), &opts, status, args)
			}),
		}
	}
	var force bool
	deregister := &cobra.Command{
		Use:               "deregister ID",
		Short:             "Deregister a container instance (DeregisterContainerInstance)",
		Args:              argsBetween(1, 1, "one instance ID or ARN"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runInstanceDeregister(cmd.Context(), cmd.OutOrStdout(), &opts, args[0], force)
		}),
	}
	deregister.Flags().BoolVar(&force, "force", false, "deregister it even while tasks run on it (they keep running, orphaned)")
	attributes := &cobra.Command{
		Use:               "attributes ID",
		Short:             "List an instance's attributes (ListAttributes): what placement looks at",
		Args:              argsBetween(1, 1, "one instance ID or ARN"),
		ValidArgsFunction: complete,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runInstanceAttributes(cmd.Context(), cmd.OutOrStdout(), &opts, args[0])
		}),
	}
	cmd.AddCommand(register, list, describe,
		state("drain", "DRAINING", "Drain container instances (UpdateContainerInstancesState DRAINING): no new tasks go there"),
		state("activate", "ACTIVE", "Make drained container instances ACTIVE again (UpdateContainerInstancesState)"),
		deregister, attributes)
	return cmd
}

func runInstanceRegister(ctx context.Context, out io.Writer, opts *instanceOptions, reg instanceRegistration) error {
	if reg.instanceType != "" && (reg.cpu != 0 || reg.memory != 0) {
		return usageError("--instance-type gives the size; it takes no --cpu or --memory")
	}
	if reg.cpu < 0 || reg.memory < 0 {
		return usageError("--cpu and --memory must be positive")
	}
	pairs, err := parseNameValues("--attribute", reg.attributes)
	if err != nil {
		return err
	}
	in := &api.RegisterContainerInstanceInput{Cluster: opts.cluster}
	for _, p := range pairs {
		in.Attributes = append(in.Attributes, api.Attribute{Name: p.Name, Value: p.Value})
	}
	if reg.zone != "" {
		in.Attributes = append(in.Attributes, api.Attribute{Name: attrZone, Value: reg.zone})
	}
	if reg.instanceType != "" {
		in.Attributes = append(in.Attributes, api.Attribute{Name: attrInstanceType, Value: reg.instanceType})
	}
	if reg.cpu > 0 {
		in.TotalResources = append(in.TotalResources, api.Resource{Name: "CPU", Type: "INTEGER", IntegerValue: int32(reg.cpu)})
	}
	if reg.memory > 0 {
		in.TotalResources = append(in.TotalResources, api.Resource{Name: "MEMORY", Type: "INTEGER", IntegerValue: int32(reg.memory)})
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.RegisterContainerInstance(ctx, in)
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	in2 := res.ContainerInstance
	fmt.Fprintf(out, "registered %s in %s: %s, %s, %d CPU units, %d MiB, host address %s\n", lastSegment(in2.ContainerInstanceArn), clusterOfARN(in2.ContainerInstanceArn),
		attribute(*in2, attrZone), attribute(*in2, attrInstanceType), resource(in2.RegisteredResources, "CPU"), resource(in2.RegisteredResources, "MEMORY"), attribute(*in2, attrHostAddress))
	return nil
}

func runInstanceList(ctx context.Context, out io.Writer, opts *instanceOptions, filter, status string) error {
	status = strings.ToUpper(status)
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	arns, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListContainerInstances(ctx, &api.ListContainerInstancesInput{Cluster: opts.cluster, Filter: filter, Status: status, NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.ContainerInstanceArns, res.NextToken, nil
	})
	if err != nil {
		return serverError(err)
	}
	instances := []api.ContainerInstance{}
	for start := 0; start < len(arns); start += 100 {
		res, err := c.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: opts.cluster, ContainerInstances: arns[start:min(start+100, len(arns))]})
		if err != nil {
			return serverError(err)
		}
		instances = append(instances, res.ContainerInstances...)
	}
	if opts.output == "json" {
		return writeJSON(out, instances)
	}
	header := "ID\tSTATUS\tHOST ADDRESS\tZONE\tTYPE\tCPU FREE/TOTAL\tMEMORY FREE/TOTAL\tRUNNING\tPENDING\tAGENT\tAGENT VERSION\tRUNS ON"
	wide := opts.output == "wide"
	if wide {
		header += "\tEC2 INSTANCE\tDOCKER VERSION\tREGISTERED"
	}
	now := clock()
	rows := make([][]string, len(instances))
	for i, in := range instances {
		rows[i] = []string{lastSegment(in.ContainerInstanceArn), in.Status, attribute(in, attrHostAddress), attribute(in, attrZone), attribute(in, attrInstanceType),
			freeOfTotal(in, "CPU"), freeOfTotal(in, "MEMORY"), count(in.RunningTasksCount), count(in.PendingTasksCount),
			agentState(in, now), orDash(agentVersion(in)), runsOn(in)}
		if wide {
			docker := ""
			if in.VersionInfo != nil {
				docker = in.VersionInfo.DockerVersion
			}
			rows[i] = append(rows[i], orDash(in.Ec2InstanceID), orDash(docker), age(in.RegisteredAt.Time, now))
		}
	}
	return table(out, header, rows)
}

// agentVersion is the version of an instance's agent, "" when it said none.
func agentVersion(in api.ContainerInstance) string {
	if in.VersionInfo == nil {
		return ""
	}
	return in.VersionInfo.AgentVersion
}

func runInstanceDescribe(ctx context.Context, out io.Writer, opts *instanceOptions, refs []string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: opts.cluster, ContainerInstances: refs, Include: []string{"TAGS", "CONTAINER_INSTANCE_HEALTH"}})
	if err != nil {
		return serverError(err)
	}
	return describe(out, opts.output, res, res.ContainerInstances, func(in api.ContainerInstance) { writeInstance(out, in) }, res.Failures)
}

// writeInstance prints an instance as the ECS console's instance page
// shows it: its overview, resources, then its attributes.
func writeInstance(out io.Writer, in api.ContainerInstance) {
	rows := [][]string{
		{"Instance:", lastSegment(in.ContainerInstanceArn)},
		{"ARN:", in.ContainerInstanceArn},
		{"EC2 instance:", orDash(in.Ec2InstanceID)},
		{"Status:", in.Status + orEmpty(" ("+in.StatusReason+")", in.StatusReason)},
		{"Agent connected:", fmt.Sprint(in.AgentConnected)},
		{"Host address:", attribute(in, attrHostAddress)},
		{"Runs on:", runsOn(in)},
		{"Zone:", attribute(in, attrZone)},
		{"Instance type:", attribute(in, attrInstanceType)},
		{"CPU free/total:", freeOfTotal(in, "CPU")},
		{"Memory free/total:", freeOfTotal(in, "MEMORY")},
		{"Running tasks:", count(in.RunningTasksCount)},
		{"Pending tasks:", count(in.PendingTasksCount)},
		{"Registered:", timestamp(in.RegisteredAt)},
	}
	if b := in.BerthAgent; b != nil && !b.LastHeartbeat.IsZero() {
		rows = append(rows, []string{"Last heartbeat:", timestamp(b.LastHeartbeat)})
	}
	if v := agentVersion(in); v != "" {
		rows = append(rows, []string{"Agent version:", v})
	}
	if in.VersionInfo != nil && in.VersionInfo.DockerVersion != "" {
		rows = append(rows, []string{"Docker version:", in.VersionInfo.DockerVersion})
	}
	if in.HealthStatus != nil {
		rows = append(rows, []string{"Health:", orDash(in.HealthStatus.OverallStatus)})
	}
	for _, t := range in.Tags {
		rows = append(rows, []string{"Tag " + t.Key + ":", t.Value})
	}
	for _, r := range rows {
		fmt.Fprintf(out, "%-19s %s\n", r[0], r[1])
	}
	fmt.Fprintln(out)
	// The capabilities are many and the same on every instance of the
	// engine: they are counted here, and berth instance attributes lists
	// them.
	var attrs [][]string
	capabilities := 0
	for _, a := range in.Attributes {
		if strings.Contains(a.Name, ".capability.") {
			capabilities++
			continue
		}
		if a.Name == attrHostAddress {
			continue // a row of the overview
		}
		attrs = append(attrs, []string{a.Name, orDash(a.Value)})
	}
	table(out, "ATTRIBUTE\tVALUE", attrs)
	if capabilities > 0 {
		fmt.Fprintf(out, "and %s (berth instance attributes %s lists them)\n", plural(capabilities, "capability attribute"), lastSegment(in.ContainerInstanceArn))
	}
}

func runInstanceState(ctx context.Context, out io.Writer, opts *instanceOptions, status string, refs []string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.UpdateContainerInstancesState(ctx, &api.UpdateContainerInstancesStateInput{Cluster: opts.cluster, ContainerInstances: refs, Status: status})
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else {
		for _, in := range res.ContainerInstances {
			fmt.Fprintf(out, "%s is %s (%s running, %d pending)\n", lastSegment(in.ContainerInstanceArn), in.Status,
				plural(int(in.RunningTasksCount), "task"), in.PendingTasksCount)
		}
	}
	return failures(out, res.Failures)
}

func runInstanceDeregister(ctx context.Context, out io.Writer, opts *instanceOptions, ref string, force bool) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	in := &api.DeregisterContainerInstanceInput{Cluster: opts.cluster, ContainerInstance: ref}
	if force {
		in.Force = &force
	}
	res, err := c.DeregisterContainerInstance(ctx, in)
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "deregistered %s (now %s)\n", lastSegment(res.ContainerInstance.ContainerInstanceArn), res.ContainerInstance.Status)
	return nil
}

func runInstanceAttributes(ctx context.Context, out io.Writer, opts *instanceOptions, ref string) error {
	_, id, err := api.ContainerInstanceRef(ref)
	if err != nil {
		return usageError("%v", err)
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	all, err := client.AllPages(func(token string) ([]api.Attribute, string, error) {
		res, err := c.ListAttributes(ctx, &api.ListAttributesInput{Cluster: opts.cluster, TargetType: "container-instance", NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.Attributes, res.NextToken, nil
	})
	if err != nil {
		return serverError(err)
	}
	attrs := []api.Attribute{}
	for _, a := range all {
		if a.TargetID == ref || lastSegment(a.TargetID) == id {
			attrs = append(attrs, a)
		}
	}
	if len(attrs) == 0 {
		// An instance always has the agent's attributes: none means none
		// such, which DescribeContainerInstances says in ECS's words.
		res, err := c.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: opts.cluster, ContainerInstances: []string{ref}})
		if err != nil {
			return serverError(err)
		}
		if err := failures(out, res.Failures); err != nil {
			return err
		}
	}
	if opts.output == "json" {
		return writeJSON(out, api.ListAttributesOutput{Attributes: attrs})
	}
	rows := make([][]string, len(attrs))
	for i, a := range attrs {
		rows[i] = []string{a.Name, orDash(a.Value)}
	}
	return table(out, "ATTRIBUTE\tVALUE", rows)
}

// instanceIDs completes the IDs of the cluster's instances.
func instanceIDs(cluster *string) func(ctx context.Context, c *client.Client, _ string) []string {
	return func(ctx context.Context, c *client.Client, _ string) []string {
		arns, err := client.AllPages(func(token string) ([]string, string, error) {
			res, err := c.ListContainerInstances(ctx, &api.ListContainerInstancesInput{Cluster: *cluster, NextToken: token})
			if err != nil {
				return nil, "", err
			}
			return res.ContainerInstanceArns, res.NextToken, nil
		})
		if err != nil {
			return nil
		}
		ids := make([]string, len(arns))
		for i, arn := range arns {
			ids[i] = lastSegment(arn)
		}
		return ids
	}
}

// runsOn says where an instance runs: "local" (the server's own engine),
// or the host and engine of its berth agent.
func runsOn(in api.ContainerInstance) string {
	b := in.BerthAgent
	switch {
	case b == nil:
		return "-"
	case b.Runs != "agent":
		return b.Runs
	}
	return orDash(b.Host) + " (" + orDash(b.Engine) + ")"
}

// agentState says whether an instance's agent is connected, whether its
// engine answers, and how long ago a berth agent was last heard from.
func agentState(in api.ContainerInstance, now time.Time) string {
	state := "connected"
	if !in.AgentConnected {
		state = "disconnected"
	}
	b := in.BerthAgent
	if b == nil || b.Runs != "agent" {
		return state
	}
	if b.EngineReachable != nil && !*b.EngineReachable {
		state += ", engine down"
	}
	if !b.LastHeartbeat.IsZero() {
		// A heartbeat is seconds old when all is well: it is told in them.
		if d := now.Sub(b.LastHeartbeat.Time); d >= 0 && d < time.Minute {
			state += fmt.Sprintf(", heard %ds ago", int(d.Seconds()))
		} else {
			state += ", heard " + age(b.LastHeartbeat.Time, now)
		}
	}
	return state
}

// attribute is the value of an instance's attribute, or "-".
func attribute(in api.ContainerInstance, name string) string {
	for _, a := range in.Attributes {
		if a.Name == name {
			return orDash(a.Value)
		}
	}
	return "-"
}

// resource is the integer value of a resource by name.
func resource(rs []api.Resource, name string) int32 {
	for _, r := range rs {
		if r.Name == name {
			return r.IntegerValue
		}
	}
	return 0
}

// freeOfTotal says how much of a resource is left of what was
// registered: "768/1024".
func freeOfTotal(in api.ContainerInstance, name string) string {
	return fmt.Sprintf("%d/%d", resource(in.RemainingResources, name), resource(in.RegisteredResources, name))
}

// lastSegment is the ID at the end of an ARN (or the ID itself).
func lastSegment(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// clusterOfARN is the cluster an instance or task ARN names, or "-".
func clusterOfARN(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) < 3 {
		return "-"
	}
	return parts[len(parts)-2]
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orEmpty is s when cond is set, else nothing.
func orEmpty(s, cond string) string {
	if cond == "" {
		return ""
	}
	return s
}
