package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// compareAPI is what berth compare asks of the server; *client.Client is
// one, and the tests give a fake.
type compareAPI interface {
	RegisterTaskDefinition(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error)
	ListContainerInstances(ctx context.Context, in *api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error)
	DescribeContainerInstances(ctx context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error)
	RegisterContainerInstance(ctx context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error)
	DeregisterContainerInstance(ctx context.Context, in *api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error)
	RunTask(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error)
	DescribeTasks(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error)
	StopTask(ctx context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error)
	DescribeTaskLimits(ctx context.Context, in *api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error)
	// Billing gives the server's price table.
	Billing(ctx context.Context, cluster string) (*api.Billing, error)
	// Top gives the Fargate capacity in use against the account's quota.
	Top(ctx context.Context, cluster string) (*api.Top, error)
}

// compareOptions are berth compare's flags.
type compareOptions struct {
	taskOptions
	count        int
	instanceType string
	ec2Bridge    bool
	// prices is a price table over berth's; "" means the server's.
	prices string
	// timeout bounds the wait for RUNNING.
	timeout time.Duration
}

// compareStartedBy marks the tasks berth compare starts.
const compareStartedBy = "berth-compare"

func newCompareCommand() *cobra.Command {
	var opts compareOptions
	cmd := &cobra.Command{
		Use:   "compare FILE [--count N] [--instance-type T] [-o table|json]",
		Short: "Run a task definition as Fargate and as EC2 tasks and show the differences side by side",
		Long: `Run the task definition in FILE --count times as Fargate tasks and as many
times as EC2 tasks, through the server, wait until they are RUNNING, and show
side by side: the time each took to RUNNING (median and spread), where each
landed and its address, how its ports were mapped, the limits the engine
enforces on its containers (read back from it), the capacity left (the
container instances' CPU and memory, and the Fargate vCPU quota), and what
each way would cost an hour on AWS, by the server's price table (berth's own,
us-east-1, unless the server was started with --prices) or by the one
--prices FILE reads over berth's. Then everything it started is stopped, on
Ctrl-C and on failure too.

EC2 tasks need a container instance: when the cluster has no ACTIVE one,
berth compare registers one of --instance-type for the run and deregisters it
after. The definition must suit both launch types (awsvpc, a task size from
Fargate's table). --ec2-bridge runs the EC2 tasks as EC2 definitions commonly
are instead: the same containers registered as FAMILY-ec2 in bridge mode, with
dynamic host ports, and the task's size given to the containers as CPU shares
and soft memory limits rather than a task cgroup.`,
		Example: "  berth compare examples/fargate-web.json\n  berth compare examples/fargate-web.json --ec2-bridge --count 5 -o json\n  berth compare examples/fargate-web.json --prices eu-west-1.json",
		Args:    argsBetween(1, 1, "one FILE"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			if opts.count < 1 || opts.count > 10 {
				return usageError("--count %d: want 1 to 10, as RunTask takes", opts.count)
			}
			c, err := opts.client("table", "json")
			if err != nil {
				return err
			}
			// Ctrl-C, SIGTERM and a closed terminal end the wait; what was
			// started is stopped all the same.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			return runCompare(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), c, args[0], opts)
		}),
	}
	opts.addClientFlags(cmd, "table", "json")
	f := cmd.Flags()
	f.StringVar(&opts.cluster, "cluster", "", "the cluster (default: default)")
	f.IntVar(&opts.count, "count", 3, "how many tasks each way (1 to 10)")
	f.StringVar(&opts.instanceType, "instance-type", "t3.medium", "the size of the container instance registered when the cluster has none")
	f.BoolVar(&opts.ec2Bridge, "ec2-bridge", false, "run the EC2 tasks in bridge mode with dynamic host ports and container-level limits")
	f.DurationVar(&opts.timeout, "timeout", 3*time.Minute, "how long to wait for the tasks to be RUNNING")
	f.StringVar(&opts.prices, "prices", "", "a price table in JSON over berth's own (default: the server's)")
	return cmd
}

// comparison is what berth compare found, as -o json prints it.
type comparison struct {
	Cluster       string         `json:"cluster"`
	Definition    string         `json:"definition"`
	EC2Definition string         `json:"ec2Definition"`
	Count         int            `json:"count"`
	LaunchTypes   []launchResult `json:"launchTypes"`
	Prices        pricesUsed     `json:"prices"`
}

// pricesUsed says which price table the costs come from.
type pricesUsed struct {
	Region  string `json:"region"`
	TakenOn string `json:"takenOn"`
	Source  string `json:"source"`
	// File is the table --prices read; "" for the server's.
	File string `json:"file,omitempty"`
}

// launchResult is one launch type's side of the comparison.
type launchResult struct {
	LaunchType    string         `json:"launchType"`
	Running       int            `json:"running"`
	TimeToRunning spread         `json:"timeToRunning"`
	Tasks         []comparedTask `json:"tasks"`
	// Instances are the container instances the tasks landed on (EC2).
	Instances []instanceLeft `json:"instances"`
	// FargateQuota is the account's Fargate vCPU quota, in use and left,
	// as the server reported it while the tasks ran (FARGATE).
	FargateQuota *fargateQuota `json:"fargateQuota,omitempty"`
	// CostPerHour is null when the price table has no price for it.
	CostPerHour *float64 `json:"costPerHour"`
	CostBasis   string   `json:"costBasis"`
}

// spread is the median and range of the tasks' times to RUNNING.
type spread struct {
	MedianSeconds float64 `json:"medianSeconds"`
	MinSeconds    float64 `json:"minSeconds"`
	MaxSeconds    float64 `json:"maxSeconds"`
}

type comparedTask struct {
	TaskArn              string          `json:"taskArn"`
	LastStatus           string          `json:"lastStatus"`
	Where                string          `json:"where"`
	AvailabilityZone     string          `json:"availabilityZone"`
	Address              string          `json:"address"`
	Ports                []string        `json:"ports"`
	TimeToRunningSeconds float64         `json:"timeToRunningSeconds"`
	Limits               *api.TaskLimits `json:"limits"`
}

type instanceLeft struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	InstanceType         string `json:"instanceType"`
	Temporary            bool   `json:"temporary"`
	RegisteredCPU        int32  `json:"registeredCpu"`
	RemainingCPU         int32  `json:"remainingCpu"`
	RegisteredMemoryMiB  int32  `json:"registeredMemoryMiB"`
	RemainingMemoryMiB   int32  `json:"remainingMemoryMiB"`
}

// fargateQuota is the Fargate capacity the account's running tasks hold
// (every cluster's, the comparison's among them) against its vCPU quota.
type fargateQuota struct {
	VCPUsInUse float64 `json:"vcpusInUse"`
	VCPULimit  float64 `json:"vcpuLimit"`
	VCPUsLeft  float64 `json:"vcpusLeft"`
	MiBInUse   int     `json:"memoryMiBInUse"`
}

// started is what berth compare made, to be undone.
type started struct {
	tasks    []string // ARNs
	instance string   // the temporary instance's ARN
}

func runCompare(ctx context.Context, stdin io.Reader, out, errOut io.Writer, c compareAPI, file string, opts compareOptions) (err error) {
	prices, err := loadPrices(opts.prices)
	if err != nil {
		return err
	}
	def, err := loadCompareDefinition(stdin, file)
	if err != nil {
		return err
	}
	var made started
	defer func() {
		// Undone with a context of its own: the one given may be what
		// ended (Ctrl-C).
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		err = errors.Join(err, undo(cleanup, c, errOut, opts.cluster, made))
	}()

	reg, err := c.RegisterTaskDefinition(ctx, def)
	if err != nil {
		return serverError(err)
	}
	res := comparison{Cluster: cmp.Or(opts.cluster, "default"), Definition: definitionRef(reg.TaskDefinition.TaskDefinitionArn), Count: opts.count}
	ec2Def := reg.TaskDefinition.TaskDefinitionArn
	if opts.ec2Bridge {
		bridged, err := c.RegisterTaskDefinition(ctx, bridgeVariant(def))
		if err != nil {
			return serverError(err)
		}
		ec2Def = bridged.TaskDefinition.TaskDefinitionArn
	}
	res.EC2Definition = definitionRef(ec2Def)

	if made.instance, err = ensureInstance(ctx, c, errOut, opts); err != nil {
		return err
	}
	if opts.prices == "" {
		// The cluster is there now: the server's table is asked for.
		billing, err := c.Billing(ctx, opts.cluster)
		if err != nil {
			return serverError(err)
		}
		if billing.Prices != nil {
			prices = *billing.Prices
		}
	}
	res.Prices = pricesUsed{Region: prices.Region, TakenOn: prices.TakenOn, Source: prices.Source, File: opts.prices}
	subnet := fargate.DefaultSubnets(controller.DefaultRegion)[0]
	count := int32(opts.count)
	runs := []*api.RunTaskInput{
		{Cluster: opts.cluster, TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, Count: &count, LaunchType: taskdef.LaunchFargate, StartedBy: compareStartedBy,
			NetworkConfiguration: &api.NetworkConfiguration{AwsvpcConfiguration: &api.AwsVpcConfiguration{Subnets: []string{subnet.ID}}}},
		{Cluster: opts.cluster, TaskDefinition: ec2Def, Count: &count, LaunchType: taskdef.LaunchEC2, StartedBy: compareStartedBy},
	}
	if !opts.ec2Bridge && def.NetworkMode == taskdef.NetworkAWSVPC {
		runs[1].NetworkConfiguration = runs[0].NetworkConfiguration
	}
	for _, in := range runs {
		ran, err := c.RunTask(ctx, in)
		if err != nil {
			return serverError(err)
		}
		for _, t := range ran.Tasks {
			made.tasks = append(made.tasks, t.TaskArn)
		}
		if len(ran.Failures) > 0 {
			f := ran.Failures[0]
			return &exitError{code: exitFailure, msg: fmt.Sprintf("%s tasks: %d not placed: %s%s", in.LaunchType, len(ran.Failures), f.Reason, orEmpty(" ("+f.Detail+")", f.Detail))}
		}
	}
	fmt.Fprintf(errOut, "berth compare: %d Fargate and %d EC2 tasks started; waiting until they are RUNNING\n", opts.count, opts.count)
	tasks, err := waitRunning(ctx, c, opts.cluster, made.tasks, opts.timeout)
	if err != nil {
		return err
	}
	limits, err := c.DescribeTaskLimits(ctx, &api.DescribeTaskLimitsInput{Cluster: opts.cluster, Tasks: made.tasks})
	if err != nil {
		return serverError(err)
	}
	byTask := map[string]*api.TaskLimits{}
	for i := range limits.Tasks {
		byTask[limits.Tasks[i].TaskArn] = &limits.Tasks[i]
	}
	instances, err := describeInstancesOf(ctx, c, opts.cluster, tasks)
	if err != nil {
		return err
	}
	top, err := c.Top(ctx, opts.cluster)
	if err != nil {
		return serverError(err)
	}
	fargatePorts, ec2Ports := containerPorts(def), containerPorts(def)
	if opts.ec2Bridge {
		ec2Ports = nil // bound to host ports, which the tasks show
	}
	fargateSide := summarize(taskdef.LaunchFargate, tasks, fargatePorts, byTask, instances, made.instance, prices)
	in := top.Fargate
	fargateSide.FargateQuota = &fargateQuota{VCPUsInUse: in.VCPUs, VCPULimit: in.VCPULimit, VCPUsLeft: max(in.VCPULimit-in.VCPUs, 0), MiBInUse: in.MiB}
	res.LaunchTypes = append(res.LaunchTypes, fargateSide,
		summarize(taskdef.LaunchEC2, tasks, ec2Ports, byTask, instances, made.instance, prices))
	if opts.output == "json" {
		err = writeJSON(out, res)
	} else {
		err = writeComparison(out, res)
	}
	return err
}

// loadCompareDefinition reads FILE as berth validate does, refusing a
// definition with problems.
func loadCompareDefinition(stdin io.Reader, file string) (*taskdef.TaskDefinition, error) {
	data, err := readDefinition(stdin, file)
	if err != nil {
		return nil, usageError("%s: cannot read: %v", file, err)
	}
	task, report, err := taskdef.Load(data, taskdef.Options{})
	if err != nil {
		return nil, usageError("%s: %v", file, err)
	}
	if !report.Valid() {
		var b strings.Builder
		writeTextReport(&b, fileReport{File: file, Errors: report.Errors})
		return nil, &exitError{code: exitInvalid, msg: strings.TrimSpace(b.String())}
	}
	return &task.Definition, nil
}

// bridgeVariant is def as an EC2 task definition commonly is: bridge mode,
// dynamic host ports, and the task's size spread over its containers as
// CPU shares and soft memory limits, with no task-level size.
func bridgeVariant(def *taskdef.TaskDefinition) *taskdef.TaskDefinition {
	v := *def
	v.Family = def.Family + "-ec2"
	v.NetworkMode = "bridge"
	v.RequiresCompatibilities = []string{taskdef.LaunchEC2}
	taskCPU, _ := strconv.Atoi(def.CPU)
	taskMemory, _ := strconv.Atoi(def.Memory)
	v.CPU, v.Memory = "", ""
	n := len(def.ContainerDefinitions)
	v.ContainerDefinitions = make([]taskdef.ContainerDefinition, n)
	for i, c := range def.ContainerDefinitions {
		if c.CPU == 0 && taskCPU > 0 {
			c.CPU = taskCPU / n
		}
		if c.Memory == nil && c.MemoryReservation == nil && taskMemory > 0 {
			soft := taskMemory / n
			c.MemoryReservation = &soft
		}
		ports := make([]taskdef.PortMapping, len(c.PortMappings))
		for j, p := range c.PortMappings {
			zero := 0
			p.HostPort = &zero // dynamic
			ports[j] = p
		}
		c.PortMappings = ports
		v.ContainerDefinitions[i] = c
	}
	return &v
}

// containerPorts are the definition's container ports, as 8080/tcp.
func containerPorts(def *taskdef.TaskDefinition) []string {
	var out []string
	for _, c := range def.ContainerDefinitions {
		for _, p := range c.PortMappings {
			if p.ContainerPort != nil {
				out = append(out, fmt.Sprintf("%d/%s", *p.ContainerPort, orTCP(p.Protocol)))
			}
		}
	}
	return out
}

// ensureInstance registers a container instance of the stated type when
// the cluster has no ACTIVE one, and returns its ARN ("" when the cluster
// had one).
func ensureInstance(ctx context.Context, c compareAPI, errOut io.Writer, opts compareOptions) (string, error) {
	list, err := c.ListContainerInstances(ctx, &api.ListContainerInstancesInput{Cluster: opts.cluster, Status: "ACTIVE"})
	switch {
	case errors.Is(err, &api.Error{Type: api.TypeClusterNotFound}) && cmp.Or(opts.cluster, "default") == "default":
		// The default cluster is made on first use, by the registration.
	case err != nil:
		return "", serverError(err)
	case len(list.ContainerInstanceArns) > 0:
		return "", nil
	}
	zone := fargate.DefaultSubnets(controller.DefaultRegion)[0].AvailabilityZone
	reg, err := c.RegisterContainerInstance(ctx, &api.RegisterContainerInstanceInput{Cluster: opts.cluster,
		Attributes: []api.Attribute{{Name: attrInstanceType, Value: opts.instanceType}, {Name: attrZone, Value: zone}}})
	if err != nil {
		return "", serverError(err)
	}
	in := reg.ContainerInstance
	fmt.Fprintf(errOut, "berth compare: the cluster has no container instance; registered %s (%s, %d CPU units, %d MiB) for the run\n",
		lastSegment(in.ContainerInstanceArn), opts.instanceType, resource(in.RegisteredResources, "CPU"), resource(in.RegisteredResources, "MEMORY"))
	return in.ContainerInstanceArn, nil
}

// waitRunning waits until every task is RUNNING; one that stops, or a
// wait past timeout, fails the comparison.
func waitRunning(ctx context.Context, c compareAPI, cluster string, arns []string, timeout time.Duration) ([]api.Task, error) {
	deadline := time.Now().Add(timeout)
	for {
		res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: cluster, Tasks: arns})
		if err != nil {
			return nil, serverError(err)
		}
		if len(res.Failures) > 0 {
			return nil, &exitError{code: exitFailure, msg: res.Failures[0].Arn + ": " + res.Failures[0].Reason}
		}
		running := 0
		for _, t := range res.Tasks {
			switch t.LastStatus {
			case "RUNNING":
				running++
			case "STOPPED", "DEPROVISIONING", "STOPPING":
				return nil, &exitError{code: exitFailure, msg: fmt.Sprintf("%s task %s stopped before it was RUNNING: %s", t.LaunchType, lastSegment(t.TaskArn), t.StoppedReason)}
			}
		}
		if running == len(arns) {
			return res.Tasks, nil
		}
		if time.Now().After(deadline) {
			return nil, &exitError{code: exitFailure, msg: fmt.Sprintf("%d of %d tasks RUNNING after %s", running, len(arns), timeout)}
		}
		select {
		case <-ctx.Done():
			return nil, &exitError{code: exitInterrupted, msg: fmt.Sprintf("interrupted while %d of %d tasks were RUNNING (%v)", running, len(arns), ctx.Err())}
		case <-time.After(pollEvery):
		}
	}
}

// describeInstancesOf describes the container instances the EC2 tasks
// landed on, after they did.
func describeInstancesOf(ctx context.Context, c compareAPI, cluster string, tasks []api.Task) (map[string]api.ContainerInstance, error) {
	var arns []string
	for _, t := range tasks {
		if t.ContainerInstanceArn != "" && !slices.Contains(arns, t.ContainerInstanceArn) {
			arns = append(arns, t.ContainerInstanceArn)
		}
	}
	out := map[string]api.ContainerInstance{}
	if len(arns) == 0 {
		return out, nil
	}
	res, err := c.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: arns})
	if err != nil {
		return nil, serverError(err)
	}
	for _, in := range res.ContainerInstances {
		out[in.ContainerInstanceArn] = in
	}
	return out, nil
}

// summarize is one launch type's side: its tasks, their times to RUNNING,
// the instances they hold and what that costs an hour.
//
// containerPorts are the definition's container ports ("8080/tcp"): an
// awsvpc task has no host port bindings, its ports are at its address.
func summarize(launchType string, tasks []api.Task, containerPorts []string, limits map[string]*api.TaskLimits, instances map[string]api.ContainerInstance, temporary string, prices cost.Prices) launchResult {
	r := launchResult{LaunchType: launchType, Tasks: []comparedTask{}, Instances: []instanceLeft{}}
	var times []float64
	var hourly float64
	priced := true
	for _, t := range tasks {
		if t.LaunchType != launchType {
			continue
		}
		took := t.StartedAt.Sub(t.CreatedAt.Time).Seconds()
		times = append(times, took)
		if t.LastStatus == "RUNNING" {
			r.Running++
		}
		ct := comparedTask{TaskArn: t.TaskArn, LastStatus: t.LastStatus, AvailabilityZone: t.AvailabilityZone, Ports: ports(t),
			TimeToRunningSeconds: round3(took), Limits: limits[t.TaskArn]}
		if ip := eniDetail(t, "privateIPv4Address"); ip != "" {
			ct.Address = ip
		} else if len(t.Containers) > 0 && len(t.Containers[0].NetworkBindings) > 0 {
			ct.Address = t.Containers[0].NetworkBindings[0].BindIP
		}
		if ct.Ports == nil {
			ct.Ports = []string{}
			for _, p := range containerPorts {
				ct.Ports = append(ct.Ports, orEmpty(ct.Address+":", ct.Address)+p)
			}
		}
		if t.ContainerInstanceArn != "" {
			ct.Where = "container instance " + lastSegment(t.ContainerInstanceArn)
		} else {
			ct.Where = orDash(t.CapacityProviderName) + " capacity of its own"
			cpu, _ := strconv.Atoi(t.CPU)
			mem, _ := strconv.Atoi(t.Memory)
			hourly += prices.FargateHourly(cpu, mem, t.CapacityProviderName == fargate.ProviderFargateSpot)
		}
		r.Tasks = append(r.Tasks, ct)
	}
	r.TimeToRunning = spreadOf(times)
	if launchType == taskdef.LaunchFargate {
		r.CostBasis = fmt.Sprintf("%d tasks, each billed for its size per second", len(r.Tasks))
	} else {
		var types []string
		for _, arn := range slices.Sorted(maps.Keys(instances)) {
			in := instances[arn]
			typ := attribute(in, attrInstanceType)
			r.Instances = append(r.Instances, instanceLeft{ContainerInstanceArn: arn, InstanceType: typ, Temporary: arn == temporary,
				RegisteredCPU: resource(in.RegisteredResources, "CPU"), RemainingCPU: resource(in.RemainingResources, "CPU"),
				RegisteredMemoryMiB: resource(in.RegisteredResources, "MEMORY"), RemainingMemoryMiB: resource(in.RemainingResources, "MEMORY")})
			price, err := prices.EC2Hourly(typ)
			if err != nil {
				priced = false
			}
			hourly += price
			types = append(types, typ)
		}
		r.CostBasis = fmt.Sprintf("%s, billed by the hour busy or idle, whatever else they run", plural(len(r.Instances), "instance"))
		if !priced {
			r.CostBasis = fmt.Sprintf("no price for instance type %s in the price table", strings.Join(types, ", "))
		}
	}
	if priced {
		v := round6(hourly)
		r.CostPerHour = &v
	}
	return r
}

func spreadOf(secs []float64) spread {
	if len(secs) == 0 {
		return spread{}
	}
	s := slices.Clone(secs)
	slices.Sort(s)
	median := s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{MedianSeconds: round3(median), MinSeconds: round3(s[0]), MaxSeconds: round3(s[len(s)-1])}
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
func round6(v float64) float64 { return float64(int64(v*1e6+0.5)) / 1e6 }

// undo stops the tasks berth compare started, waits until they have
// stopped, and deregisters the instance it registered.
func undo(ctx context.Context, c compareAPI, errOut io.Writer, cluster string, made started) error {
	var errs []error
	for _, arn := range made.tasks {
		if _, err := c.StopTask(ctx, &api.StopTaskInput{Cluster: cluster, Task: arn, Reason: "berth compare is done"}); err != nil {
			errs = append(errs, fmt.Errorf("stop task %s: %w", lastSegment(arn), serverError(err)))
		}
	}
	if len(made.tasks) > 0 && len(errs) == 0 {
		if err := waitStopped(ctx, c, cluster, made.tasks); err != nil {
			errs = append(errs, err)
		}
	}
	if made.instance != "" {
		force := true
		if _, err := c.DeregisterContainerInstance(ctx, &api.DeregisterContainerInstanceInput{Cluster: cluster, ContainerInstance: made.instance, Force: &force}); err != nil {
			errs = append(errs, fmt.Errorf("deregister instance %s: %w", lastSegment(made.instance), serverError(err)))
		}
	}
	if len(errs) == 0 && (len(made.tasks) > 0 || made.instance != "") {
		fmt.Fprintf(errOut, "berth compare: stopped the %s it started%s\n", plural(len(made.tasks), "task"), orEmpty(" and deregistered its instance", made.instance))
	}
	return errors.Join(errs...)
}

func waitStopped(ctx context.Context, c compareAPI, cluster string, arns []string) error {
	for {
		res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: cluster, Tasks: arns})
		if err != nil {
			return fmt.Errorf("wait for the tasks to stop: %w", serverError(err))
		}
		stopped := 0
		for _, t := range res.Tasks {
			if t.LastStatus == "STOPPED" {
				stopped++
			}
		}
		if stopped == len(res.Tasks) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the tasks to stop: %d of %d stopped: %w", stopped, len(res.Tasks), ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// writeComparison prints the two launch types side by side, then each
// task.
func writeComparison(out io.Writer, r comparison) error {
	fargateSide, ec2Side := r.LaunchTypes[0], r.LaunchTypes[1]
	fmt.Fprintf(out, "%s as Fargate tasks, %s as EC2 tasks: %d each, in cluster %s\n\n", r.Definition, r.EC2Definition, r.Count, r.Cluster)
	rows := [][]string{
		{"running", fmt.Sprintf("%d of %d", fargateSide.Running, len(fargateSide.Tasks)), fmt.Sprintf("%d of %d", ec2Side.Running, len(ec2Side.Tasks))},
		{"time to RUNNING", spreadText(fargateSide.TimeToRunning), spreadText(ec2Side.TimeToRunning)},
		{"placed on", "capacity of its own size, each", instancesText(ec2Side.Instances)},
		{"addresses", addressesText(fargateSide.Tasks), addressesText(ec2Side.Tasks)},
		{"port mappings", portsText(fargateSide.Tasks), portsText(ec2Side.Tasks)},
		{"limits enforced", limitsText(fargateSide.Tasks), limitsText(ec2Side.Tasks)},
		{"capacity left", quotaText(fargateSide.FargateQuota), capacityText(ec2Side.Instances)},
		{"cost per hour", costText(fargateSide), costText(ec2Side)},
	}
	if err := table(out, "\tFARGATE\tEC2", rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	var tasks [][]string
	for _, side := range r.LaunchTypes {
		for _, t := range side.Tasks {
			tasks = append(tasks, []string{lastSegment(t.TaskArn), side.LaunchType, t.Where, orDash(t.AvailabilityZone), orDash(strings.Join(t.Ports, ", ")),
				fmt.Sprintf("%.2fs", t.TimeToRunningSeconds), taskLimitsText(t.Limits)})
		}
	}
	if err := table(out, "TASK\tLAUNCH\tWHERE\tZONE\tPORTS\tTO RUNNING\tLIMITS THE ENGINE ENFORCES", tasks); err != nil {
		return err
	}
	table := "the server's table"
	if r.Prices.File != "" {
		table = r.Prices.File
	}
	fmt.Fprintf(out, "\nPrices: %s, for %s, taken %s (%s).\n", table, r.Prices.Region, r.Prices.TakenOn, r.Prices.Source)
	return nil
}

func spreadText(s spread) string {
	return fmt.Sprintf("median %.2fs (%.2fs to %.2fs)", s.MedianSeconds, s.MinSeconds, s.MaxSeconds)
}

func instancesText(ins []instanceLeft) string {
	var parts []string
	for _, in := range ins {
		about := in.InstanceType
		if in.Temporary {
			about += ", registered for the run"
		}
		parts = append(parts, shortID(lastSegment(in.ContainerInstanceArn))+" ("+about+")")
	}
	return "shared instance " + orDash(strings.Join(parts, ", "))
}

// addressesText lists the distinct addresses the tasks have.
func addressesText(tasks []comparedTask) string {
	var addrs []string
	for _, t := range tasks {
		if t.Address != "" && !slices.Contains(addrs, t.Address) {
			addrs = append(addrs, t.Address)
		}
	}
	switch len(addrs) {
	case 0:
		return "-"
	case 1:
		if len(tasks) > 1 {
			return addrs[0] + ", shared by all"
		}
	}
	return fmt.Sprintf("%s, one each", strings.Join(addrs, ", "))
}

// portsText says how the tasks' ports were mapped.
func portsText(tasks []comparedTask) string {
	var hostPorts, own []string
	for _, t := range tasks {
		for _, p := range t.Ports {
			host, ctr, bound := strings.Cut(p, "->")
			if !bound {
				if port := p[strings.LastIndexByte(p, ':')+1:]; !slices.Contains(own, port) {
					own = append(own, port)
				}
				continue
			}
			hostPort := host[strings.LastIndexByte(host, ':')+1:]
			if strings.HasPrefix(ctr, hostPort+"/") {
				hostPorts = append(hostPorts, hostPort+" (static)")
			} else {
				hostPorts = append(hostPorts, hostPort)
			}
		}
	}
	switch {
	case len(hostPorts) > 0:
		return "host ports " + strings.Join(hostPorts, ", ") + " on the instance's address"
	case len(own) > 0:
		return strings.Join(own, ", ") + " at each task's own address"
	}
	return "none"
}

// limitsText is the limits of the first task, which the others share.
func limitsText(tasks []comparedTask) string {
	if len(tasks) == 0 {
		return "-"
	}
	return taskLimitsText(tasks[0].Limits)
}

func taskLimitsText(l *api.TaskLimits) string {
	if l == nil {
		return "-"
	}
	var parts []string
	if cg := l.TaskCgroup; cg != nil {
		var hard []string
		if cg.CPUQuotaMicros > 0 && cg.CPUPeriodMicros > 0 {
			hard = append(hard, strconv.FormatFloat(float64(cg.CPUQuotaMicros)/float64(cg.CPUPeriodMicros), 'f', -1, 64)+" CPU")
		}
		if cg.MemoryLimitBytes > 0 {
			hard = append(hard, mib(cg.MemoryLimitBytes))
		}
		parts = append(parts, "task cgroup "+orDash(strings.Join(hard, ", "))+" hard")
	} else {
		parts = append(parts, "no task cgroup")
	}
	for _, c := range l.Containers {
		var own []string
		if c.CPUShares > 0 {
			own = append(own, fmt.Sprintf("%d shares", c.CPUShares))
		}
		if c.MemoryBytes > 0 {
			own = append(own, mib(c.MemoryBytes)+" hard")
		}
		if c.MemoryReservationBytes > 0 {
			own = append(own, mib(c.MemoryReservationBytes)+" soft")
		}
		if c.EffectiveMemoryLimitBytes > 0 && c.EffectiveMemoryLimitBytes != c.MemoryBytes {
			own = append(own, "bound at "+mib(c.EffectiveMemoryLimitBytes))
		}
		if c.MemoryBytes == 0 && c.EffectiveMemoryLimitBytes == 0 {
			own = append(own, "no hard memory limit")
		}
		parts = append(parts, c.Name+": "+strings.Join(own, ", "))
	}
	return strings.Join(parts, "; ")
}

func mib(b int64) string { return strconv.FormatInt(b>>20, 10) + " MiB" }

func capacityText(ins []instanceLeft) string {
	var parts []string
	for _, in := range ins {
		parts = append(parts, fmt.Sprintf("%d of %d CPU units, %d of %d MiB", in.RemainingCPU, in.RegisteredCPU, in.RemainingMemoryMiB, in.RegisteredMemoryMiB))
	}
	return orDash(strings.Join(parts, "; "))
}

// quotaText says how much of the account's Fargate vCPU quota is left,
// and how much its running tasks hold.
func quotaText(q *fargateQuota) string {
	if q == nil {
		return "-"
	}
	vcpus := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return fmt.Sprintf("%s of the account's %s Fargate vCPUs (%s in use)", vcpus(q.VCPUsLeft), vcpus(q.VCPULimit), vcpus(q.VCPUsInUse))
}

func costText(r launchResult) string {
	if r.CostPerHour == nil {
		return "unknown: " + r.CostBasis
	}
	return fmt.Sprintf("$%.4f (%s)", *r.CostPerHour, r.CostBasis)
}
