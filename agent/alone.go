package agent

import (
	"context"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/agent/tasknet"
)

// goesAlone reports whether the task does without a pause container: an
// awsvpc task whose one container has nothing to share a namespace with
// (tasknet.CanGoAlone), on an agent that keeps no spare pause container.
// Its container then joins the task network itself, at the task's address
// when the task has one, and its address is the task's. A spare, started
// ahead of the task, is quicker still than a container's own network
// attach, so an agent that keeps spares (Config.SparePause) gives every
// awsvpc task a pause container, and all its tasks have one shape.
func (t *task) goesAlone() bool {
	return !t.a.cfg.SparePause && tasknet.CanGoAlone(t.def())
}

// joinAlone takes the task network's lease for a container that joins the
// network itself, as for a pause container: held from before its create
// until its start has answered (leaveNetwork), so that no agent removes
// the network meanwhile. The release it returns is a no-op for any other
// container.
func (t *task) joinAlone(ctx context.Context, spec createSpec) (func(), error) {
	if !spec.alone {
		return func() {}, nil
	}
	leave, err := t.a.network.Join(ctx)
	if err != nil {
		return nil, engineErr(CannotCreateContainerError, "join the task network: %w", err)
	}
	return leave, nil
}

// startAlone starts the task's one container on the task network. held
// says the task holds the network's lease from the create; a container an
// agent before this one created and never started is started under a
// lease of its own.
func (t *task) startAlone(ctx context.Context, id string, held bool) error {
	if !held {
		leave, err := t.a.network.Join(ctx)
		if err != nil {
			return err
		}
		defer leave()
	}
	return t.a.network.StartAlone(ctx, id)
}

// leaveNetwork releases the task network's lease, if the task holds it.
func (t *task) leaveNetwork() {
	if t.joinLease != nil {
		t.joinLease()
		t.joinLease = nil
	}
}

// learnAddress takes the task's address from its container, once it has
// started on the task network, when the task has no pause container and
// asked for no address: the engine gave it at the start.
func (t *task) learnAddress(info container.InspectResponse) {
	if !t.record.Alone || t.state.Address != "" {
		return
	}
	if addr := t.a.network.PauseAddress(info); addr != "" {
		t.state.Address = addr
		t.record.Address = addr
	}
}
