package controller

import (
	"context"

	"github.com/berthdev/berth/agent"
)

// runner is where the tasks of a capacity run: an agent of the server's
// own engine (capacity), or a berth agent that connects in from another
// engine (remote). Placement and the store do not tell them apart; only
// handing a task over and asking it to stop do.
type runner interface {
	// startTask hands a recorded task over to run; agent.ErrTaskExists
	// when the runner has it already.
	startTask(ctx context.Context, cluster string, spec agent.TaskSpec) error
	// stopTask asks for a task to stop; agent.ErrTaskNotFound when the
	// runner does not have it and never will.
	stopTask(ctx context.Context, cluster, arn, reason string, code agent.StopCode) error
	// follow takes up the tasks of cluster when the server starts.
	follow(ctx context.Context, cluster string) error
}

var (
	_ runner = (*capacity)(nil)
	_ runner = (*remote)(nil)
)

func (k *capacity) startTask(ctx context.Context, cluster string, spec agent.TaskSpec) error {
	a, err := k.agentFor(ctx, cluster)
	if err != nil {
		return err
	}
	_, err = a.StartTask(ctx, spec)
	return err
}

func (k *capacity) stopTask(ctx context.Context, cluster, arn, reason string, code agent.StopCode) error {
	a, err := k.agentFor(ctx, cluster)
	if err != nil {
		return err
	}
	return a.StopTask(ctx, arn, reason, code)
}

func (k *capacity) follow(ctx context.Context, cluster string) error {
	_, err := k.agentFor(ctx, cluster)
	return err
}
