package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/logstore"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/scheduler/fargate"
)

// Default region and account of the ARNs berth makes, the same as berth
// run's, so that a task's ARN reads alike whichever made it.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
)

// Options configures a Controller.
type Options struct {
	// Region and AccountID go into every ARN; empty means DefaultRegion
	// and DefaultAccountID.
	Region, AccountID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Docker connects to the engine tasks run on, when the first task
	// needs it; nil means the controller runs no task. A Docker client
	// (with engine.WithDeadlines) is one; tests and benchmarks give an
	// engine in memory.
	Docker func() (engine.Engine, error)
	// BinaryPath is the berth binary berth's images are built from; empty
	// means the running one.
	BinaryPath string
	// FargateVCPUQuota is the account's Fargate vCPU quota;
	// 0 means DefaultFargateVCPUQuota.
	FargateVCPUQuota int
	// CleanupWait is how long a stopped task's containers stay on the
	// engine; 0 means ECS's 3 hours.
	CleanupWait time.Duration
	// StoppedTaskRetention is how long a STOPPED task stays describable;
	// 0 means DefaultStoppedTaskRetention.
	StoppedTaskRetention time.Duration
	// Logf receives what the controller cannot return as an error; nil
	// discards it.
	Logf func(format string, args ...any)
	// Metrics counts what the controller does; nil counts nothing.
	Metrics *metrics.Metrics
	// Prices is the price table the metrics' estimated cost and
	// /berth/v1/billing go by; nil means cost.Default().
	Prices *cost.Prices
	// EngineAPIVersion is the Docker API version of the engine the
	// instances run on ("1.41"), which names their capability
	// attributes; empty means DefaultEngineAPIVersion.
	EngineAPIVersion string
	// LogDir is where the output of the tasks' containers is kept (package
	// logstore), until their tasks are forgotten; empty keeps none.
	LogDir string
	// LogLimit is how many bytes of each container's output are kept, the
	// newest; 0 means logstore.DefaultLimit.
	LogLimit int64
	// UsageInterval is how often the running tasks' stats are sampled for
	// their CPU and memory use; 0 means DefaultUsageInterval, a negative
	// one samples none.
	UsageInterval time.Duration
	// CgroupRoot is where the engine's cgroup hierarchies are mounted, in
	// which each container instance gets its slice; empty means
	// agent.DefaultCgroupRoot.
	CgroupRoot string
	// HostSize is the CPU units and MiB of memory an instance registered
	// without them and without a known instance type gets; nil means this
	// machine's.
	HostSize func() (cpu, memoryMiB int64)
	// Progress, when a terminal, shows a progress line for each image its
	// instances' agents pull or build; nil shows none.
	Progress io.Writer
	// Version is berth's version: the agent version (versionInfo) of the
	// instances of the server's own engine, registered without one.
	Version string
	// AgentTimeout is how long an instance's berth agent may be silent
	// before the instance is agentConnected false; 0 means
	// DefaultAgentTimeout.
	AgentTimeout time.Duration
	// Clock makes the timers the controller waits on for the agents'
	// silence; nil means the real clock. A test gives a clock.Manual, and
	// its Now as Now.
	Clock clock.Clock
}

// DefaultStoppedTaskRetention is how long berth keeps a STOPPED task
// describable: ECS keeps one for at least an hour.
const DefaultStoppedTaskRetention = time.Hour

// Controller owns berth's desired state, kept in the store. Its methods
// are ECS operations, in and out in the shapes of package api, and fail
// with *api.Error values, so the API is only their registration (Register)
// and berth's own CLI can call them in process.
type Controller struct {
	store *store.Store
	namer api.Namer
	now   func() time.Time
	opts  Options

	fargate         *fargate.Provisioner
	fargateCapacity *capacity
	wg              sync.WaitGroup

	// usage is the running tasks' use of CPU and memory, sampled.
	usage usageSampler
	// systemdSlices says once that instance slices are not enforced.
	systemdSlices sync.Once
	// index sums the tasks for the metrics as they change, and held
	// keeps what the tasks hold of each instance for placement; unwatch
	// stops the store telling them.
	index   taskIndex
	held    placeIndex
	unwatch func()

	// placeMu makes an EC2 placement and its commit one step.
	placeMu sync.Mutex
	// reports gathers the agents' reports into the store's transactions.
	reports reportQueue

	// statusRecorded, when set, is told of each change of a task's
	// lastStatus once it is recorded (tests follow a task's life with it).
	statusRecorded atomic.Pointer[func(store.Task)]

	mu        sync.Mutex
	inFlight  map[string]bool      // tasks being handed to their agent
	instances map[string]*capacity // container instances' capacity, by cluster/ID
	remote    *remoteAgents        // the berth agents that connect in
	// stop ends what Start began.
	stop             context.CancelFunc
	region           string
	engineAPIVersion string
	hostSize         func() (cpu, memoryMiB int64)

	// events are the latest task and instance changes (GET /berth/v1/events);
	// logs keeps the containers' output (GET /berth/v1/tasks/{taskID}/logs).
	events *eventLog
	logs   *logstore.Store
	// life ends when the controller closes, and with it every stream.
	life    context.Context
	endLife context.CancelFunc
}

// New returns a controller over st, which the caller keeps open for as
// long as the controller is used.
func New(st *store.Store, opts Options) *Controller {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FargateVCPUQuota == 0 {
		opts.FargateVCPUQuota = DefaultFargateVCPUQuota
	}
	if opts.StoppedTaskRetention == 0 {
		opts.StoppedTaskRetention = DefaultStoppedTaskRetention
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.EngineAPIVersion == "" {
		opts.EngineAPIVersion = DefaultEngineAPIVersion
	}
	if opts.HostSize == nil {
		opts.HostSize = hostSize
	}
	if opts.UsageInterval == 0 {
		opts.UsageInterval = DefaultUsageInterval
	}
	if opts.Prices == nil {
		prices := cost.Default()
		opts.Prices = &prices
	}
	provisioner, err := newProvisioner(opts.FargateVCPUQuota)
	if err != nil {
		panic(fmt.Sprintf("berth's own VPC: %v", err)) // a fixed table: a bug if it fails
	}
	c := &Controller{store: st, namer: api.Namer{Region: opts.Region, AccountID: opts.AccountID}, now: opts.Now, opts: opts,
		fargate: provisioner, inFlight: map[string]bool{}, instances: map[string]*capacity{},
		region: opts.Region, engineAPIVersion: opts.EngineAPIVersion, hostSize: opts.HostSize}
	c.fargateCapacity = &capacity{c: c, instance: fargateInstance, network: VPCNetwork, subnet: VPCCIDR, spares: vpcSpareRange}
	c.events = newEventLog()
	c.life, c.endLife = context.WithCancel(context.Background())
	if opts.LogDir != "" {
		logs, err := logstore.Open(opts.LogDir, logstore.Options{Limit: opts.LogLimit, Now: opts.Now})
		if err != nil {
			opts.Logf("the containers' output will not be kept: %v", err)
		}
		c.logs = logs
	}
	c.remote = newRemoteAgents(c, opts.AgentTimeout)
	unwatchIndex, unwatchHeld := st.WatchTasks(&c.index), st.WatchTasks(&c.held)
	c.unwatch = func() { unwatchIndex(); unwatchHeld() }
	return c
}

// Start takes up again the tasks the store holds that have not stopped:
// their capacity is theirs again, and the agents of their clusters follow
// them on the engine (those gone from it are STOPPED with a reason). It
// then forgets STOPPED tasks once their retention has passed, and samples
// the running tasks' use of CPU and memory, until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	ctx, c.stop = context.WithCancel(ctx)
	context.AfterFunc(ctx, c.endLife)
	if err := c.index.ensure(c.store); err != nil {
		return err
	}
	if err := c.held.ensure(c.store); err != nil {
		return err
	}
	recs, err := c.store.Tasks("", func(t *store.Task) bool { return t.LastStatus != "STOPPED" })
	if err != nil {
		return err
	}
	clusters := map[string]bool{}
	capacities := map[runner]map[string]bool{} // the clusters of each
	for _, rec := range recs {
		if rec.LaunchType != "FARGATE" {
			k, err := c.capacityOf(rec)
			if err != nil {
				c.opts.Logf("task %s: its container instance: %v", rec.ID, err)
				continue
			}
			if capacities[k] == nil {
				capacities[k] = map[string]bool{}
			}
			capacities[k][rec.Cluster] = true
			continue
		}
		var rt taskRuntime
		if err := json.Unmarshal(rec.Runtime, &rt); err != nil {
			return fmt.Errorf("task %s: %w", rec.ID, err)
		}
		if capa, ok := capacityOf(c.namer.Task(rec.Cluster, rec.ID), rt); ok {
			if err := c.fargate.Restore(capa); err != nil {
				c.opts.Logf("task %s: %v", rec.ID, err)
			}
		}
		clusters[rec.Cluster] = true
	}
	if len(clusters) > 0 {
		capacities[c.fargateCapacity] = clusters
	}
	var errs []error
	for k, clusters := range capacities {
		for cluster := range clusters {
			if err := k.follow(ctx, cluster); err != nil {
				// One capacity refused spoils not the others'; its tasks
				// are taken up when its agent starts.
				errs = append(errs, err)
				if local, ok := k.(*capacity); ok {
					c.notStarted(cluster, local.instance, err)
				}
			}
		}
	}
	c.removeRetiredSlices(ctx)
	if err := c.remote.start(ctx); err != nil {
		return err
	}
	if c.opts.UsageInterval > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.sampleUsage(ctx, c.opts.UsageInterval)
		}()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			c.forgetStopped(c.now())
			if err := c.store.ForgetRunTokens(c.now()); err != nil {
				c.opts.Logf("forget RunTask client tokens: %v", err)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return errors.Join(errs...)
}

// Close ends the controller's agents; the tasks keep running, for the next
// server to take up.
func (c *Controller) Close() {
	if c.stop != nil {
		c.stop()
	}
	c.endLife()
	c.unwatch()
	c.fargateCapacity.close()
	c.remote.close()
	c.mu.Lock()
	instances := c.instances
	c.instances = map[string]*capacity{}
	c.mu.Unlock()
	for _, k := range instances {
		k.close()
	}
	c.wg.Wait()
}

// Register serves the controller's operations on mux. Operations not
// registered keep answering UnknownOperationException.
func (c *Controller) Register(mux *api.Mux) {
	api.Handle(mux, "CreateCluster", c.CreateCluster)
	api.Handle(mux, "DeleteCluster", c.DeleteCluster)
	api.Handle(mux, "DescribeClusters", c.DescribeClusters)
	api.Handle(mux, "ListClusters", c.ListClusters)

	api.Handle(mux, "RegisterTaskDefinition", c.RegisterTaskDefinition)
	api.Handle(mux, "DeregisterTaskDefinition", c.DeregisterTaskDefinition)
	api.Handle(mux, "DescribeTaskDefinition", c.DescribeTaskDefinition)
	api.Handle(mux, "ListTaskDefinitions", c.ListTaskDefinitions)
	api.Handle(mux, "ListTaskDefinitionFamilies", c.ListTaskDefinitionFamilies)

	api.Handle(mux, "RegisterContainerInstance", c.RegisterContainerInstance)
	api.Handle(mux, "DeregisterContainerInstance", c.DeregisterContainerInstance)
	api.Handle(mux, "DescribeContainerInstances", c.DescribeContainerInstances)
	api.Handle(mux, "ListContainerInstances", c.ListContainerInstances)
	api.Handle(mux, "UpdateContainerInstancesState", c.UpdateContainerInstancesState)

	api.Handle(mux, "PutAttributes", c.PutAttributes)
	api.Handle(mux, "DeleteAttributes", c.DeleteAttributes)
	api.Handle(mux, "ListAttributes", c.ListAttributes)

	api.Handle(mux, "RunTask", c.RunTask)
	api.Handle(mux, "StartTask", c.StartTask)
	api.Handle(mux, "StopTask", c.StopTask)
	api.Handle(mux, "DescribeTasks", c.DescribeTasks)
	api.Handle(mux, "ListTasks", c.ListTasks)

	api.Handle(mux, "TagResource", c.TagResource)
	api.Handle(mux, "UntagResource", c.UntagResource)
	api.Handle(mux, "ListTagsForResource", c.ListTagsForResource)
}

// Operations are the names of the operations Register serves, in the
// order of docs/api.md.
var Operations = []string{
	"CreateCluster", "DeleteCluster", "DescribeClusters", "ListClusters",
	"RegisterTaskDefinition", "DeregisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies",
	"RegisterContainerInstance", "DeregisterContainerInstance", "DescribeContainerInstances", "ListContainerInstances", "UpdateContainerInstancesState",
	"PutAttributes", "DeleteAttributes", "ListAttributes",
	"RunTask", "StartTask", "StopTask", "DescribeTasks", "ListTasks",
	"TagResource", "UntagResource", "ListTagsForResource",
}
