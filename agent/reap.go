package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// InstanceRef names one agent's share of an engine: its cluster and
// instance, as its containers' labels carry them.
type InstanceRef struct {
	Cluster, Instance string
}

// Instances lists the agents that have tasks on the engine, whether or not
// they still run, so that a caller who knows an agent is gone for good (its
// process died) can Reap what it left.
func Instances(ctx context.Context, docker client.APIClient) ([]InstanceRef, error) {
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("list berth's containers: %w", err)
	}
	seen := map[InstanceRef]bool{}
	for _, c := range list {
		ref := InstanceRef{Cluster: c.Labels[LabelCluster], Instance: c.Labels[labelInstance]}
		if ref.Cluster != "" {
			seen[ref] = true
		}
	}
	out := make([]InstanceRef, 0, len(seen))
	for ref := range seen {
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Instance < out[j].Instance
	})
	return out, nil
}

// Reap takes over the tasks of an agent that is gone for good, named by
// cfg's Cluster and Instance: it kills the tasks still running (whoever
// would have stopped them is gone) and removes every stopped task whose
// cleanup wait (cfg.CleanupWait after it stopped) has passed, as that agent
// would have. A task stopped more recently stays until a later Reap. It
// returns how many tasks it removed.
func Reap(ctx context.Context, cfg Config) (int, error) {
	cfg.SparePause = false
	a, err := New(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	removed := 0
	var errs []error
	for _, st := range a.Tasks() {
		if st.LastStatus < TaskStopped {
			if err := a.KillTask(ctx, st.ARN); err != nil {
				errs = append(errs, err)
				continue
			}
			if st, err = a.Wait(ctx, st.ARN, TaskStopped); err != nil {
				errs = append(errs, err)
				continue
			}
		} else if time.Since(st.StoppedAt) < a.cfg.CleanupWait {
			continue
		}
		if err := a.RemoveTask(ctx, st.ARN); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("reap the tasks of %s/%s: %w", cfg.Cluster, cfg.Instance, err)
	}
	return removed, nil
}
