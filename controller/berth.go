package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler/fargate"
)

// Handler serves berth's own endpoints and operations (registerBerth)
// beside ecs, the ECS API, which answers every other request:
//
//	GET /berth/v1/tasks/{taskID}/logs?container=NAME&since=RFC3339&follow=1
//	GET /berth/v1/events?since=RFC3339&follow=1
//	GET /berth/v1/top?cluster=NAME, GET /berth/v1/billing?cluster=NAME
//	POST /berth/v1/OPERATION (BerthOperations)
//	GET /berth/v1/agent, upgraded to berth agents' protocol (agentproto)
//	POST / X-Amz-Target: Logs_20140328.GetLogEvents, DescribeLogStreams
//
// The first two answer application/x-ndjson, one JSON object a line; top
// and billing, JSON; the operations, as the ECS API answers; the last,
// CloudWatch Logs' answers for the awslogs streams (docs/api.md).
func (c *Controller) Handler(ecs http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isLogsRequest(r) {
			c.serveCloudWatchLogs(w, r)
			return
		}
		ecs.ServeHTTP(w, r)
	})
	c.registerBerth(mux, logger)
	mux.Handle(agentproto.Path, c.AgentHandler())
	mux.HandleFunc("GET "+api.BerthPath+"tasks/{taskID}/logs", c.serveLogs)
	mux.HandleFunc("GET "+api.BerthPath+"events", c.serveEvents)
	mux.HandleFunc("GET "+api.PathTop, func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, c.Top, r.URL.Query().Get("cluster"))
	})
	mux.HandleFunc("GET "+api.PathBilling, func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, c.Billing, r.URL.Query().Get("cluster"))
	})
	mux.HandleFunc(api.BerthPath, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.ResourceNotFoundException("berth serves GET %[1]stasks/{taskID}/logs, GET %[1]sevents, GET %[1]stop, GET %[1]sbilling and POST %[1]sOPERATION for %[2]s, not %[3]s %[4]s", api.BerthPath, strings.Join(BerthOperations, ", "), r.Method, r.URL.Path))
	})
	return mux
}

// registerBerth serves berth's own operations on mux, beside the ECS API
// (see api.BerthPath): InterruptTask, DescribeTaskLimits,
// EnsureContainerInstance and RegisterTaskDefinitionIfChanged.
func (c *Controller) registerBerth(mux *http.ServeMux, logger *slog.Logger) {
	api.HandleBerth(mux, logger, "InterruptTask", c.InterruptTask)
	api.HandleBerth(mux, logger, "DescribeTaskLimits", c.DescribeTaskLimits)
	api.HandleBerth(mux, logger, "EnsureContainerInstance", c.EnsureContainerInstance)
	api.HandleBerth(mux, logger, "RegisterTaskDefinitionIfChanged", c.RegisterTaskDefinitionIfChanged)
}

// BerthOperations are the names of berth's own operations.
var BerthOperations = []string{"InterruptTask", "DescribeTaskLimits", "EnsureContainerInstance", "RegisterTaskDefinitionIfChanged"}

// SpotInterruptionReason is the stoppedReason ECS gives a Fargate Spot
// task whose capacity was reclaimed.
const SpotInterruptionReason = "Your Spot Task was interrupted."

// SpotWarning is the warning ECS gives a Fargate Spot task before it
// reclaims the capacity.
const SpotWarning = 2 * time.Minute

// InterruptTask reclaims the capacity of a RUNNING FARGATE_SPOT task, as
// Fargate Spot does: the task's desired status becomes STOPPED at once,
// with stop code SpotInterruption and ECS's reason (the task state change
// ECS emits, which it answers); its containers get SIGTERM, in reverse
// dependsOn order, each with its stopTimeout; and whatever still runs when
// the warning (two minutes, or warningSeconds) is up is killed. The check
// that the task may be interrupted and its change are one transaction.
func (c *Controller) InterruptTask(ctx context.Context, in *api.InterruptTaskInput) (*api.InterruptTaskOutput, error) {
	warning := SpotWarning
	if in.WarningSeconds != nil {
		if w := *in.WarningSeconds; w < 1 || w > int32(SpotWarning/time.Second) {
			return nil, api.InvalidParameterException("warningSeconds must be 1 to %d (ECS warns %s before it reclaims Spot capacity); got %d", int(SpotWarning/time.Second), SpotWarning, w)
		}
		warning = time.Duration(*in.WarningSeconds) * time.Second
	}
	cluster, id, err := c.taskRef(in.Cluster, in.Task)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	var changed api.Task
	rec, err := c.store.UpdateTask(cluster, id, func(rec *store.Task) error {
		var rt taskRuntime
		if err := json.Unmarshal(rec.Runtime, &rt); err != nil {
			return err
		}
		var t api.Task
		if err := json.Unmarshal(rec.Body, &t); err != nil {
			return err
		}
		switch {
		case rt.Capacity != fargate.ProviderFargateSpot:
			return api.InvalidParameterException("task %s runs on %s, not FARGATE_SPOT: only Fargate Spot capacity is reclaimed (run it with a capacity provider strategy over FARGATE_SPOT)", id, capacityName(rec.LaunchType, rt.Capacity))
		case rec.DesiredStatus == "STOPPED":
			return api.InvalidParameterException("task %s is already stopping (%s): there is nothing left to reclaim", id, t.StopCode)
		case rec.LastStatus != "RUNNING":
			return api.InvalidParameterException("task %s is %s: berth interrupts a RUNNING task", id, rec.LastStatus)
		}
		t.DesiredStatus, t.StopCode, t.StoppedReason, t.StoppingAt = "STOPPED", api.StopCodeSpotInterruption, SpotInterruptionReason, api.Time(now)
		t.Version = rec.Version + 1
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		rec.Body, rec.DesiredStatus = body, "STOPPED"
		changed = t
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.InvalidParameterException("The referenced task was not found.")
	}
	if err != nil {
		return nil, err
	}
	arn := c.namer.Task(cluster, id)
	a, err := c.agentOf(ctx, rec)
	if err != nil {
		return nil, err
	}
	if err := a.StopTaskWithin(ctx, arn, SpotInterruptionReason, agent.StopSpotInterruption, warning); errors.Is(err, agent.ErrTaskNotFound) && !c.starting(arn) {
		c.stoppedWithout(cluster, arn, api.StopCodeSpotInterruption, SpotInterruptionReason)
	}
	return &api.InterruptTaskOutput{Event: c.taskStateChange(&changed, now), StopBy: api.Time(now.Add(warning))}, nil
}

// capacityName says where a task runs, for a refusal.
func capacityName(launchType, capacity string) string {
	if launchType == "FARGATE" {
		return capacity
	}
	return "container instance " + capacity
}

// taskStateChange is the EventBridge event of a task's change.
func (c *Controller) taskStateChange(t *api.Task, at time.Time) api.TaskStateChangeEvent {
	return api.TaskStateChangeEvent{Version: "0", ID: newUUID(), DetailType: api.DetailTypeTask, Source: "aws.ecs",
		Account: c.namer.AccountID, Time: at.Truncate(time.Second), Region: c.namer.Region, Resources: []string{t.TaskArn},
		Detail: api.NewTaskStateChange(t, at)}
}

// DescribeTaskLimits reads back, from the engine, the limits it enforces
// on up to 10 tasks' containers: each container's CPU shares, memory
// limit and reservation (its HostConfig), the lowest hard memory limit
// over it (its stats), and the task cgroup above them all (its files).
func (c *Controller) DescribeTaskLimits(ctx context.Context, in *api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error) {
	if len(in.Tasks) == 0 || len(in.Tasks) > 10 {
		return nil, api.InvalidParameterException("tasks can not be empty and can have at most 10 items.")
	}
	out := &api.DescribeTaskLimitsOutput{Tasks: []api.TaskLimits{}, Failures: []api.Failure{}}
	for _, ref := range in.Tasks {
		cluster, id, err := c.taskRef(in.Cluster, ref)
		if err != nil {
			return nil, err
		}
		arn := c.namer.Task(cluster, id)
		rec, err := c.store.Task(cluster, id)
		if errors.Is(err, store.ErrNotFound) {
			out.Failures = append(out.Failures, api.Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		limits, err := c.taskLimits(ctx, rec)
		if err != nil {
			out.Failures = append(out.Failures, api.Failure{Arn: arn, Reason: "ENGINE", Detail: err.Error()})
			continue
		}
		out.Tasks = append(out.Tasks, limits)
	}
	return out, nil
}

// limitsDeadline bounds the engine calls of one task's limits.
const limitsDeadline = 10 * time.Second

func (c *Controller) taskLimits(ctx context.Context, rec store.Task) (api.TaskLimits, error) {
	t, err := taskOf(rec)
	if err != nil {
		return api.TaskLimits{}, err
	}
	out := api.TaskLimits{TaskArn: t.TaskArn, LaunchType: rec.LaunchType, Containers: []api.ContainerLimits{}}
	if rec.LastStatus == "STOPPED" {
		return out, fmt.Errorf("the task is STOPPED: its containers hold no limits")
	}
	k, err := c.localCapacityOf(rec)
	if err != nil {
		return out, err
	}
	if _, err := k.agentFor(ctx, rec.Cluster); err != nil {
		return out, err
	}
	k.mu.Lock()
	docker := k.docker
	k.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, limitsDeadline)
	defer cancel()
	sys, err := docker.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("engine info: %w", err)
	}
	for _, ctr := range t.Containers {
		if ctr.RuntimeID == "" {
			continue // not created yet
		}
		info, err := docker.ContainerInspect(ctx, ctr.RuntimeID)
		if err != nil {
			return out, fmt.Errorf("inspect container %s: %w", ctr.Name, err)
		}
		hc := info.HostConfig
		cl := api.ContainerLimits{Name: ctr.Name, RuntimeID: ctr.RuntimeID, CPUShares: hc.CPUShares, NanoCPUs: hc.NanoCPUs,
			CPUQuotaMicros: hc.CPUQuota, MemoryBytes: hc.Memory, MemoryReservationBytes: hc.MemoryReservation}
		if hc.CgroupParent != "" {
			out.CgroupParent = hc.CgroupParent
		}
		if cl.EffectiveMemoryLimitBytes, err = effectiveMemoryLimit(ctx, docker, ctr.RuntimeID, sys.MemTotal); err != nil {
			return out, fmt.Errorf("stats of container %s: %w", ctr.Name, err)
		}
		out.Containers = append(out.Containers, cl)
	}
	// A task with task-level limits has a cgroup of its own; a container
	// instance's slice alone is no task's.
	if strings.HasSuffix(out.CgroupParent, "/ecs/"+rec.ID) {
		version, _ := strconv.Atoi(sys.CgroupVersion)
		cg, err := agent.ReadTaskCgroup(agent.DefaultCgroupRoot, max(version, 1), out.CgroupParent)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return out, err
		default:
			out.TaskCgroup = &api.CgroupLimits{CPUQuotaMicros: cg.CPUQuotaMicros, CPUPeriodMicros: cg.CPUPeriodMicros, MemoryLimitBytes: cg.MemoryLimitBytes}
		}
	}
	return out, nil
}

// effectiveMemoryLimit is the lowest hard memory limit over a container,
// from the engine's stats: on cgroup v1 the kernel's
// hierarchical_memory_limit, which takes in the task cgroup above the
// container; else the container's own limit. Zero when there is none
// (the engine reports the machine's memory then, or more).
func effectiveMemoryLimit(ctx context.Context, docker engine.Engine, id string, machine int64) (int64, error) {
	resp, err := docker.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var stats container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&stats); err != nil {
		return 0, fmt.Errorf("the engine's stats do not read: %w", err)
	}
	limit := stats.MemoryStats.Limit
	if h, ok := stats.MemoryStats.Stats["hierarchical_memory_limit"]; ok && h < limit {
		limit = h
	}
	if limit == 0 || limit >= 1<<62 || machine > 0 && limit >= uint64(machine) {
		return 0, nil
	}
	return int64(limit), nil
}
