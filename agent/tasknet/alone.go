package tasknet

import (
	"context"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/taskdef"
)

// A task can do without a pause container when nothing shares a namespace
// with its one container: under awsvpc, with one container and no pidMode
// or ipcMode "task". That container then joins the task network itself and
// takes its address there, which saves the pause container's create and
// start (its network attach, the dearest part of an awsvpc task's start).
// CreateAlone and StartAlone make and start it as CreatePause and RunPause
// do a pause container: under the network's lease (Join), made again when
// another agent removes the network meanwhile.

// CanGoAlone reports whether the task's one container can hold its network
// namespace itself.
func CanGoAlone(def *taskdef.TaskDefinition) bool {
	return def.NetworkMode == taskdef.NetworkAWSVPC && len(def.ContainerDefinitions) == 1 &&
		def.PidMode != "task" && def.IpcMode != "task"
}

// CreateAlone creates a task's one container on the task network, which it
// makes sure exists.
func (n *Network) CreateAlone(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, name string) (string, error) {
	return n.CreatePause(ctx, cfg, host, netCfg, name, true)
}

// StartAlone starts a container CreateAlone made; its address is then
// the container's on the network (PauseAddress).
func (n *Network) StartAlone(ctx context.Context, id string) error {
	return n.start(ctx, id, true)
}

// start starts a container, and when it is on the task network, which the
// engine looks up at the start, makes the network again should another
// agent have just removed it, moves the container onto it and tries again,
// networkAttempts times at most.
func (n *Network) start(ctx context.Context, id string, onNetwork bool) error {
	for attempt := 1; ; attempt++ {
		err := n.engine.ContainerStart(ctx, id, container.StartOptions{})
		if err == nil {
			return nil
		}
		if !onNetwork || !cerrdefs.IsNotFound(err) || attempt == networkAttempts {
			return err
		}
		n.Forget()
		if err := n.Ensure(ctx); err != nil {
			return err
		}
		if err := n.reattach(ctx, id); err != nil {
			return err
		}
	}
}
