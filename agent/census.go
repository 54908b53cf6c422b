package agent

import (
	"context"
	"fmt"
	"sort"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/taskdef"
)

// ActiveTask is a task of any agent on the engine that holds its resources:
// one of its containers runs. It is read from the containers' labels, so
// that a caller can count what every agent's tasks take of the engine
// without asking the agents. A task whose containers have all exited, or
// were never started (a stopped task's, kept until its cleanup), holds
// nothing.
type ActiveTask struct {
	ARN, Cluster, Instance string
	Group                  string
	// Task is the task as it was started: its definition, normalised,
	// its task-level cpu and memory, and its launch type.
	Task taskdef.Normalized
	// Ports are the ports its running containers publish on the host.
	Ports []container.Port
}

// ActiveTasks lists the tasks of every agent on the engine of which a
// container runs, by ARN.
func ActiveTasks(ctx context.Context, docker engine.Engine) ([]ActiveTask, error) {
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("list berth's containers: %w", err)
	}
	active := map[string]bool{}
	labels := map[string]map[string]string{} // one container's labels per task
	ports := map[string][]container.Port{}
	for _, c := range list {
		arn := c.Labels[LabelTaskARN]
		if arn == "" || c.Labels[labelTaskRecord] == "" {
			continue // a spare pause container, or not a task's
		}
		labels[arn] = c.Labels
		switch c.State {
		case "running", "paused", "restarting":
			active[arn] = true
			ports[arn] = append(ports[arn], c.Ports...)
		}
	}
	out := make([]ActiveTask, 0, len(active))
	for arn := range active {
		rec, err := decodeRecord(labels[arn][labelTaskRecord])
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", arn, err)
		}
		out = append(out, ActiveTask{
			ARN:      rec.ARN,
			Cluster:  rec.Cluster,
			Instance: labels[arn][labelInstance],
			Group:    rec.Group,
			Task:     taskdef.Normalized{Definition: rec.Definition, CPU: rec.CPU, Memory: rec.Memory, LaunchType: rec.LaunchType},
			Ports:    ports[arn],
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}
