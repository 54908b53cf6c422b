// Package engine is the agent's view of the Docker engine: Engine lists
// exactly the calls the agent (and the images package, for berth's own
// images) makes, with Docker's own types, so that the agent translates a
// task definition into the same Docker configuration whatever answers it.
//
// New adapts the Docker client to it, with a deadline on every call
// (deadline.go): an engine that takes connections and never answers fails
// the call instead of hanging the agent. The enginetest package answers
// the same calls from memory, for tests and benchmarks that need no
// engine.
package engine

import (
	"context"
	"io"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Engine is the Docker engine as the agent uses it. Every method has the
// signature of client.APIClient's method of the same name, so a Docker
// client is an Engine (New gives it deadlines). Errors are Docker's: the
// agent tells them apart with github.com/containerd/errdefs (IsNotFound,
// IsConflict).
type Engine interface {
	Containers
	Images
	Networks
	Volumes
	System
}

// Containers are the calls on containers.
type Containers interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, container string, options container.StartOptions) error
	// ContainerStop sends the container's stop signal, then SIGKILL
	// after options.Timeout seconds.
	ContainerStop(ctx context.Context, container string, options container.StopOptions) error
	ContainerKill(ctx context.Context, container, signal string) error
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, container string, options container.RemoveOptions) error
	// ContainerWait answers once the container meets condition; the
	// wait lasts as long as ctx.
	ContainerWait(ctx context.Context, container string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerAttach(ctx context.Context, container string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerLogs(ctx context.Context, container string, options container.LogsOptions) (io.ReadCloser, error)
	// ContainerStatsOneShot answers the container's stats at once, as
	// JSON (container.StatsResponse), without the engine's second sample:
	// precpu_stats is empty, and a caller that wants CPU use keeps the
	// cpu_stats of its previous call. Its body lasts as long as ctx.
	ContainerStatsOneShot(ctx context.Context, container string) (container.StatsResponseReader, error)
}

// Images are the calls on images: the agent's pulls and checks, and the
// images package's builds of berth's own images.
type Images interface {
	ImageInspect(ctx context.Context, image string, options ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImageLoad(ctx context.Context, input io.Reader, options ...client.ImageLoadOption) (image.LoadResponse, error)
	ImageRemove(ctx context.Context, image string, options image.RemoveOptions) ([]image.DeleteResponse, error)
}

// Networks are the calls on networks: the awsvpc task network and the
// default bridge the metadata endpoint listens on.
type Networks interface {
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, network string, options network.InspectOptions) (network.Inspect, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkConnect(ctx context.Context, network, container string, config *network.EndpointSettings) error
	NetworkDisconnect(ctx context.Context, network, container string, force bool) error
	NetworkRemove(ctx context.Context, network string) error
}

// Volumes are the calls on volumes.
type Volumes interface {
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeInspect(ctx context.Context, volumeID string) (volume.Volume, error)
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
}

// System are the calls on the engine itself.
type System interface {
	// Events follows the engine's events until ctx ends.
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	Info(ctx context.Context) (system.Info, error)
	// ServerVersion answers the engine's versions, its Docker API
	// version among them: what a container instance's capability
	// attributes say it can do.
	ServerVersion(ctx context.Context) (types.Version, error)
	// DaemonHost names the engine: agents and builds on one engine share
	// locks under its name.
	DaemonHost() string
}

// New returns the Docker client api as an Engine, with DefaultDeadlines
// on every call (see WithDeadlinesOf).
func New(api client.APIClient) Engine {
	return WithDeadlines(api)
}

var _ Engine = client.APIClient(nil)
