package controller

import (
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
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
	// EngineAPIVersion is the Docker API version of the engine the
	// instances run on ("1.41"), which names their capability
	// attributes; empty means DefaultEngineAPIVersion.
	EngineAPIVersion string
	// HostSize is the CPU units and MiB of memory an instance registered
	// without them and without a known instance type gets; nil means this
	// machine's.
	HostSize func() (cpu, memoryMiB int64)
}

// Controller owns berth's desired state, kept in the store. Its methods
// are ECS operations, in and out in the shapes of package api, and fail
// with *api.Error values, so the API is only their registration (Register)
// and berth's own CLI can call them in process.
type Controller struct {
	store            *store.Store
	namer            api.Namer
	region           string
	now              func() time.Time
	engineAPIVersion string
	hostSize         func() (cpu, memoryMiB int64)
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.EngineAPIVersion == "" {
		opts.EngineAPIVersion = DefaultEngineAPIVersion
	}
	if opts.HostSize == nil {
		opts.HostSize = hostSize
	}
	return &Controller{
		store:            st,
		namer:            api.Namer{Region: opts.Region, AccountID: opts.AccountID},
		region:           opts.Region,
		now:              opts.Now,
		engineAPIVersion: opts.EngineAPIVersion,
		hostSize:         opts.HostSize,
	}
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
	"TagResource", "UntagResource", "ListTagsForResource",
}
