package controller

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// observe brings the records of tasks in line with what their agents
// report, in order, and returns once they are stored: the agent is the
// truth of what runs; the record keeps what RunTask decided. A task whose
// agent reports it STOPPED gives its capacity back. The reports go into
// the store with those of other agents that arrive meanwhile, in one
// transaction (see reportQueue); an error, which is logged, is that of a
// report not recorded.
//
// A task with a network interface of its own (awsvpc: every Fargate task)
// passes, as on ECS, through ACTIVATING on its way to RUNNING and through
// DEACTIVATING on its way to STOPPING: they are the control plane's steps
// (a load balancer's targets, service discovery), not the agent's, so the
// controller records each as a change of its own, before what the agent
// reports: DescribeTasks, the version, the events and the metrics see
// every one.
func (c *Controller) observe(cluster string, states ...agent.TaskState) error {
	reports := make([]*report, len(states))
	for i, s := range states {
		reports[i] = &report{cluster: cluster, state: s}
	}
	c.reports.await(reports, c.record)
	var errs []error
	for _, r := range reports {
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return errors.Join(errs...)
}

// reportSteps bounds the steps one report records: a change moves at
// most two steps past what the agent said, a step of the control plane's,
// then the agent's own.
const reportSteps = 3

// report is an agent's word of one of its tasks, on its way to the store,
// and what each of its steps recorded.
type report struct {
	cluster string
	state   agent.TaskState
	steps   [reportSteps]reportStep
	// err is the report's when it was not recorded; written says its
	// batch was written (or failed to be).
	err     error
	written bool
}

// reportStep is one step of a report toward the state its agent reports.
type reportStep struct {
	// changed says the step changed the record (before it became after,
	// at at), and more that another step is due after it.
	changed, more bool
	// stopped says the step records the task STOPPED.
	stopped bool
	before  store.Task
	at      time.Time
}

// record writes a batch of reports, each step of each as a change of its
// own, in one transaction, then sends their events and feeds the metrics,
// in order. A transaction that fails fails every report of the batch.
func (c *Controller) record(batch []*report) {
	updates := make([]store.TaskUpdate, 0, len(batch)*reportSteps)
	for _, r := range batch {
		for i := range r.steps {
			updates = append(updates, store.TaskUpdate{Cluster: r.cluster, ID: r.state.ID(), Change: c.step(r, i)})
		}
	}
	tasks, errs, err := c.store.UpdateTasks(updates)
	for n, r := range batch {
		r.written = true
		id := r.state.ID()
		if err != nil {
			r.err = fmt.Errorf("record the state of task %s: %w", id, err)
			c.opts.Logf("%v", r.err)
		}
		for i, st := range r.steps {
			k := n*reportSteps + i
			switch {
			case err != nil:
			case errs[k] == nil:
				after := tasks[k]
				c.taskChanged(after)
				if after.LastStatus != st.before.LastStatus {
					c.counted(st.before, after, r.state.StopCode, st.at)
				}
			case !errors.Is(errs[k], errUnchanged) && !errors.Is(errs[k], store.ErrNotFound):
				r.err = fmt.Errorf("record the state of task %s: %w", id, errs[k])
				c.opts.Logf("%v", r.err)
			}
			if st.stopped {
				// The capacity follows what runs, recorded or not: the
				// agent says the task's containers are gone.
				c.fargate.Release(r.state.ARN)
			}
		}
	}
}

// step is the change of a task's record that step i of a report makes:
// none when the step before it recorded nothing or was the last due.
func (c *Controller) step(r *report, i int) func(*store.Task) error {
	return func(rec *store.Task) error {
		if i > 0 && !(r.steps[i-1].changed && r.steps[i-1].more) {
			return errUnchanged
		}
		s, st := r.state, &r.steps[i]
		var t api.Task
		if err := json.Unmarshal(rec.Body, &t); err != nil {
			return err
		}
		if s.LastStatus == agent.TaskDeleted || rec.LastStatus == "STOPPED" {
			return errUnchanged
		}
		st.before, st.at = *rec, c.now()
		cur, _ := agent.ParseTaskStatus(rec.LastStatus)
		next := nextStatus(hasENI(&t), cur, s.LastStatus)
		st.more = next != s.LastStatus && next != cur
		// A report that changes nothing the API shows (the agent reports
		// steps of its own too) is no change: no new version, no event.
		t.Version = 0
		was, err := json.Marshal(t)
		if err != nil {
			return err
		}
		applyState(&t, s, next)
		if is, err := json.Marshal(t); err == nil && bytes.Equal(was, is) {
			return errUnchanged
		}
		t.Version = rec.Version + 1
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		rec.Body, rec.LastStatus, rec.DesiredStatus = body, t.LastStatus, t.DesiredStatus
		if rec.LastStatus != st.before.LastStatus {
			rec.StatusSince = st.at.UTC()
		}
		if t.LastStatus == "STOPPED" {
			at := s.StoppedAt
			rec.StoppedAt = &at
			st.stopped = true
		}
		st.changed = true
		return nil
	}
}

// nextStatus is the lastStatus a task at cur records next on its way to
// want, which its agent reports. It never goes back (the controller may be
// ahead of the agent: DEACTIVATING, which StopTask records, comes before
// the agent's STOPPING); a task with a network interface of its own goes
// through ACTIVATING to RUNNING, and from ACTIVATING or RUNNING through
// DEACTIVATING to whatever follows.
func nextStatus(eni bool, cur, want agent.TaskStatus) agent.TaskStatus {
	switch {
	case want <= cur:
		return cur
	case eni && cur < agent.TaskActivating && want == agent.TaskRunning:
		return agent.TaskActivating
	case eni && (cur == agent.TaskActivating || cur == agent.TaskRunning) && want > agent.TaskDeactivating:
		return agent.TaskDeactivating
	}
	return want
}

// hasENI reports whether the task has a network interface of its own.
func hasENI(t *api.Task) bool {
	for _, a := range t.Attachments {
		if a.Type == attachmentENI {
			return true
		}
	}
	return false
}

// attachmentENI is the type of a task's network interface attachment.
const attachmentENI = "ElasticNetworkInterface"

// attachmentStatus is the status of a task's network interface at the
// task's lastStatus, as ECS shows it: made before the task is (PRECREATED),
// attached from PENDING on, detaching while the task deprovisions, and
// deleted once it has stopped.
func attachmentStatus(s agent.TaskStatus) string {
	switch {
	case s < agent.TaskPending:
		return "PRECREATED"
	case s < agent.TaskDeprovisioning:
		return "ATTACHED"
	case s == agent.TaskDeprovisioning:
		return "DETACHING"
	}
	return "DELETED"
}

// counted feeds the metrics with a task's change of lastStatus, whoever
// recorded it (an agent's report, StopTask, a stop without the agent): the
// status entered, the time spent in the one left, and, into RUNNING, the
// time from RunTask, into STOPPED, the stop and its code.
func (c *Controller) counted(before, after store.Task, stopCode agent.StopCode, now time.Time) {
	if hook := c.statusRecorded.Load(); hook != nil {
		(*hook)(after)
	}
	m := c.opts.Metrics
	if m == nil {
		return
	}
	since := before.StatusSince
	if since.IsZero() {
		since = before.CreatedAt
	}
	m.TaskEntered(after.LaunchType, after.LastStatus, before.LastStatus, now.Sub(since))
	switch after.LastStatus {
	case "RUNNING":
		m.TaskRunning(after.LaunchType, now.Sub(after.CreatedAt))
	case "STOPPED":
		m.TaskStopped(after.LaunchType, string(stopCode))
	}
}

// errUnchanged leaves a record as it is.
var errUnchanged = errors.New("nothing to change")

// applyState copies what the agent knows of a task into its API shape, at
// lastStatus status.
func applyState(t *api.Task, s agent.TaskState, status agent.TaskStatus) {
	t.LastStatus = status.String()
	if t.DesiredStatus != "STOPPED" {
		t.DesiredStatus = s.DesiredStatus.String()
	}
	t.HealthStatus = s.HealthStatus.String()
	t.PullStartedAt, t.PullStoppedAt = api.Time(s.PullStartedAt), api.Time(s.PullStoppedAt)
	t.StartedAt, t.StoppingAt = api.Time(s.StartedAt), api.Time(s.StoppingAt)
	t.ExecutionStoppedAt, t.StoppedAt = api.Time(s.ExecutionStoppedAt), api.Time(s.StoppedAt)
	// The first reason a task was stopped for stays, as on ECS: a StopTask
	// the record holds wins over what the agent saw after it (a container
	// that exited while the server that asked for the stop was away).
	if s.StopCode != "" && t.StopCode == "" {
		t.StopCode, t.StoppedReason = string(s.StopCode), s.StoppedReason
	}
	if s.LastStatus >= agent.TaskRunning && t.Connectivity == "" {
		t.Connectivity, t.ConnectivityAt = "CONNECTED", api.Time(s.StartedAt)
	}
	for i := range t.Attachments {
		t.Attachments[i].Status = attachmentStatus(status)
	}
	if s.Address != "" {
		addressKnown(t, s.Address)
	}
	for i := range t.Containers {
		ct := &t.Containers[i]
		cs, ok := s.Container(ct.Name)
		if !ok {
			continue
		}
		ct.LastStatus, ct.RuntimeID, ct.Reason = cs.LastStatus.String(), cs.DockerID, cs.Reason
		ct.HealthStatus = cs.HealthStatus.String()
		if cs.ExitCode != nil {
			code := int32(*cs.ExitCode)
			ct.ExitCode = &code
		}
		ct.NetworkBindings = nil
		for _, b := range cs.NetworkBindings {
			cp, hp := int32(b.ContainerPort), int32(b.HostPort)
			ct.NetworkBindings = append(ct.NetworkBindings, api.NetworkBinding{BindIP: b.BindIP, ContainerPort: &cp, HostPort: &hp, Protocol: b.Protocol})
		}
	}
}

// addressKnown fills in the address of a task's network interface where
// it was not known when the task was recorded (an EC2 awsvpc task's, which
// its agent's network gives it; a Fargate task's is the provisioner's from
// the start): the attachment's privateIPv4Address and privateDnsName and
// each container's networkInterfaces.
func addressKnown(t *api.Task, addr string) {
	for i := range t.Attachments {
		a := &t.Attachments[i]
		if a.Type != attachmentENI || a.Detail("privateIPv4Address") != "" {
			continue
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			continue
		}
		a.Details = append(a.Details, api.KeyValuePair{Name: "privateDnsName", Value: privateDNSName(ip)},
			api.KeyValuePair{Name: "privateIPv4Address", Value: addr})
	}
	for i := range t.Containers {
		for j := range t.Containers[i].NetworkInterfaces {
			if ni := &t.Containers[i].NetworkInterfaces[j]; ni.PrivateIpv4Address == "" {
				ni.PrivateIpv4Address = addr
			}
		}
	}
}

// stoppedWithout records a task stopped before its agent ever had it. The
// metrics count it as they count a stop an agent reports: the change into
// STOPPED, the time spent in the status it left, and the stop.
func (c *Controller) stoppedWithout(cluster, arn, code, reason string) {
	now := c.now().UTC()
	var before store.Task
	rec, err := c.store.UpdateTask(cluster, taskID(arn), func(rec *store.Task) error {
		var t api.Task
		if err := json.Unmarshal(rec.Body, &t); err != nil {
			return err
		}
		if rec.LastStatus == "STOPPED" {
			return errUnchanged
		}
		before = *rec
		t.LastStatus, t.DesiredStatus, t.StopCode, t.StoppedReason = "STOPPED", "STOPPED", code, reason
		t.StoppingAt, t.ExecutionStoppedAt, t.StoppedAt = api.Time(now), api.Time(now), api.Time(now)
		for i := range t.Containers {
			t.Containers[i].LastStatus = "STOPPED"
		}
		for i := range t.Attachments {
			t.Attachments[i].Status = "DELETED"
		}
		t.Version = rec.Version + 1
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		rec.Body, rec.LastStatus, rec.DesiredStatus, rec.StoppedAt, rec.StatusSince = body, "STOPPED", "STOPPED", &now, now
		return nil
	})
	if err == nil {
		c.taskChanged(rec)
		c.counted(before, rec, agent.StopCode(code), now)
	}
	if err != nil && !errors.Is(err, errUnchanged) {
		c.opts.Logf("record the stop of task %s: %v", taskID(arn), err)
	}
	c.fargate.Release(arn)
}

// adopt settles, when an agent starts, the recorded tasks of its cluster
// and capacity: those the agent found on the engine follow what it
// reports; those it did not, and that never stopped, vanished while no
// server was there to see, and are STOPPED with a reason saying so. The
// output of those it found is kept again from the engine's logs.
func (c *Controller) adopt(cluster, instance string, a *agent.Agent, docker engine.Engine) {
	recs, err := c.store.Tasks(cluster, func(t *store.Task) bool { return t.LastStatus != "STOPPED" })
	if err != nil {
		c.opts.Logf("adopt the tasks of cluster %s: %v", cluster, err)
		return
	}
	for _, rec := range recs {
		if !runsOn(rec, instance) {
			continue
		}
		arn := c.namer.Task(cluster, rec.ID)
		if s, ok := a.Task(arn); ok {
			// The output's writers first: a follower that sees the task
			// STOPPED waits for them.
			c.resumeOutput(cluster, rec, s, docker)
			c.observe(cluster, s)
			if rec.DesiredStatus == "STOPPED" && s.DesiredStatus != agent.TaskStopped {
				// A stop under way when the server stopped finishes now,
				// with the stop code and reason it was asked with.
				if t, err := taskOf(rec); err == nil {
					a.StopTask(context.Background(), arn, t.StoppedReason, agent.StopCode(t.StopCode))
				}
			}
			continue
		}
		if c.starting(arn) {
			continue // handed to the agent this moment
		}
		t, err := taskOf(rec)
		if err != nil {
			c.opts.Logf("adopt task %s: %v", rec.ID, err)
			continue
		}
		if rec.DesiredStatus == "STOPPED" {
			// Stopped before any container of it was made: the stop
			// finishes with what it was asked with.
			c.stoppedWithout(cluster, arn, cmp.Or(t.StopCode, api.StopCodeUserInitiated), cmp.Or(t.StoppedReason, "Task stopped by user"))
			continue
		}
		if (rec.LastStatus == "PROVISIONING" || rec.LastStatus == "PENDING") && !madeAContainer(t) {
			// Recorded, and perhaps on its way, but nothing of it reached
			// the engine before the server stopped: it starts now, for the
			// first time.
			if spec, err := c.specOf(cluster, rec); err == nil {
				if k, err := c.capacityOf(rec); err == nil {
					c.start(cluster, spec, k)
					continue
				}
			}
		}
		c.stoppedWithout(cluster, arn, api.StopCodeTaskFailedToStart,
			"ContainerVanishedError: the task's containers were not on the engine when berth server started again")
	}
}

// notStarted settles, when the agent of a cluster's capacity cannot
// start, the recorded tasks of it of which nothing was made: they stop
// with the reason. Those with containers on the engine wait, as they are,
// for the agent to start.
func (c *Controller) notStarted(cluster, instance string, why error) {
	recs, err := c.store.Tasks(cluster, func(t *store.Task) bool { return t.LastStatus != "STOPPED" })
	if err != nil {
		c.opts.Logf("settle the tasks of cluster %s: %v", cluster, err)
		return
	}
	for _, rec := range recs {
		if !runsOn(rec, instance) {
			continue
		}
		arn := c.namer.Task(cluster, rec.ID)
		if t, err := taskOf(rec); err == nil && !madeAContainer(t) && !c.starting(arn) {
			c.stoppedWithout(cluster, arn, api.StopCodeTaskFailedToStart, "ResourceInitializationError: "+why.Error())
		}
	}
}

// runsOn reports whether a recorded task runs on the capacity whose agents
// are named instance.
func runsOn(rec store.Task, instance string) bool {
	if rec.LaunchType == "FARGATE" {
		return instance == fargateInstance
	}
	return rec.Instance == instance
}

// madeAContainer reports whether the record of a task names a container
// of it on the engine: its agent reported one made.
func madeAContainer(t *api.Task) bool {
	for _, ct := range t.Containers {
		if ct.RuntimeID != "" {
			return true
		}
	}
	return false
}

// starting reports whether the task is being handed to its agent now.
func (c *Controller) starting(arn string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight[arn]
}

// StopTask stops a task: its desired status becomes STOPPED at once, with
// stop code UserInitiated and the reason given (Task stopped by user
// when none), and its containers stop as their stopTimeouts allow.
func (c *Controller) StopTask(ctx context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error) {
	cluster, id, err := c.taskRef(in.Cluster, in.Task)
	if err != nil {
		return nil, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	if len(reason) > 1024 {
		return nil, api.InvalidParameterException("reason: at most 1024 characters; got %d", len(reason))
	}
	now := c.now().UTC()
	var before store.Task
	rec, err := c.store.UpdateTask(cluster, id, func(rec *store.Task) error {
		if rec.DesiredStatus == "STOPPED" {
			return errUnchanged
		}
		var t api.Task
		if err := json.Unmarshal(rec.Body, &t); err != nil {
			return err
		}
		t.DesiredStatus, t.StopCode, t.StoppedReason, t.StoppingAt = "STOPPED", api.StopCodeUserInitiated, reason, api.Time(now)
		before = *rec
		if hasENI(&t) && (rec.LastStatus == "ACTIVATING" || rec.LastStatus == "RUNNING") {
			// Out of its load balancers' targets before its containers
			// hear of the stop, as on ECS.
			t.LastStatus = agent.TaskDeactivating.String()
			rec.LastStatus, rec.StatusSince = t.LastStatus, now
		}
		t.Version = rec.Version + 1
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		rec.Body, rec.DesiredStatus = body, "STOPPED"
		return nil
	})
	if err == nil && rec.LastStatus != before.LastStatus {
		c.counted(before, rec, "", now)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, api.InvalidParameterException("The referenced task was not found.")
	case errors.Is(err, errUnchanged):
		rec, err = c.store.Task(cluster, id)
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		c.taskChanged(rec)
		arn := c.namer.Task(cluster, id)
		k, err := c.capacityOf(rec)
		if err != nil {
			return nil, err
		}
		err = k.stopTask(ctx, cluster, arn, reason, agent.StopUserInitiated)
		if errors.Is(err, agent.ErrTaskNotFound) && !c.starting(arn) {
			c.stoppedWithout(cluster, arn, api.StopCodeUserInitiated, reason)
		} else if err != nil && !errors.Is(err, agent.ErrTaskNotFound) {
			return nil, err
		}
	}
	t, err := taskOf(rec)
	if err != nil {
		return nil, err
	}
	return &api.StopTaskOutput{Task: t}, nil
}

// agentOf is the agent of a recorded task's capacity on the server's own
// engine.
func (c *Controller) agentOf(ctx context.Context, rec store.Task) (*agent.Agent, error) {
	k, err := c.localCapacityOf(rec)
	if err != nil {
		return nil, err
	}
	return k.agentFor(ctx, rec.Cluster)
}

// localCapacityOf is a recorded task's capacity when it is on the server's
// own engine; a task on a berth agent's host is reached only through that
// agent's connection.
func (c *Controller) localCapacityOf(rec store.Task) (*capacity, error) {
	r, err := c.capacityOf(rec)
	if err != nil {
		return nil, err
	}
	k, ok := r.(*capacity)
	if !ok {
		return nil, api.InvalidParameterException("task %s runs on container instance %s, whose host a berth agent runs: berth reaches its containers only through that agent", rec.ID, rec.Instance)
	}
	return k, nil
}

// taskRef resolves a task named by ID or ARN in a cluster.
func (c *Controller) taskRef(clusterRef, ref string) (cluster, id string, err error) {
	if clusterRef == "" {
		clusterRef = "default"
	}
	if cluster, err = api.ClusterName(clusterRef); err != nil {
		return "", "", err
	}
	inARN, tid, err := api.TaskRef(ref)
	if err != nil {
		return "", "", err
	}
	if inARN != "" && inARN != cluster {
		return "", "", api.InvalidParameterException("task %s is of cluster %s, not %s", ref, inARN, cluster)
	}
	if _, err := c.store.Cluster(cluster); errors.Is(err, store.ErrNotFound) {
		return "", "", api.ClusterNotFoundException("")
	}
	return cluster, tid, nil
}

func taskOf(rec store.Task) (*api.Task, error) {
	var t api.Task
	if err := json.Unmarshal(rec.Body, &t); err != nil {
		return nil, err
	}
	t.Version = rec.Version
	return &t, nil
}

// DescribeTasks describes up to 100 tasks of a cluster, by ID or ARN; those
// it does not hold come back in failures as MISSING.
func (c *Controller) DescribeTasks(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, api.InvalidParameterException("tasks can not be empty and can have at most 100 items.")
	}
	withTags := false
	for i, v := range in.Include {
		if v != "TAGS" {
			return nil, api.InvalidParameterException("include[%d]: %q is not TAGS", i, v)
		}
		withTags = true
	}
	out := &api.DescribeTasksOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Tasks))
	for i, ref := range in.Tasks {
		inARN, id, err := api.TaskRef(ref)
		if err != nil {
			return nil, err
		}
		if inARN != "" && inARN != cluster {
			return nil, api.InvalidParameterException("task %s is of cluster %s, not %s", ref, inARN, cluster)
		}
		ids[i] = id
	}
	recs, err := c.store.TasksByID(cluster, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		rec, ok := recs[id]
		if !ok {
			out.Failures = append(out.Failures, api.Failure{Arn: c.namer.Task(cluster, id), Reason: "MISSING"})
			continue
		}
		t, err := taskOf(rec)
		if err != nil {
			return nil, err
		}
		if !withTags {
			t.Tags = nil
		}
		out.Tasks = append(out.Tasks, *t)
	}
	return out, nil
}

// ListTasks lists the ARNs of a cluster's tasks of one desired status
// (RUNNING unless told, as ECS lists them), by family, startedBy, launch
// type or container instance, paged.
func (c *Controller) ListTasks(ctx context.Context, in *api.ListTasksInput) (*api.ListTasksOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	desired := in.DesiredStatus
	switch desired {
	case "":
		desired = "RUNNING"
	case "RUNNING", "PENDING", "STOPPED":
	default:
		return nil, api.InvalidParameterException("desiredStatus %q: want RUNNING, PENDING or STOPPED", desired)
	}
	if in.ServiceName != "" {
		return &api.ListTasksOutput{TaskArns: []string{}}, nil // no services yet
	}
	instance := ""
	if in.ContainerInstance != "" {
		if _, instance, err = api.ContainerInstanceRef(in.ContainerInstance); err != nil {
			return nil, err
		}
	}
	after, err := api.After(in.NextToken)
	if err != nil {
		return nil, err
	}
	size, err := api.PageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	// Task ARNs of one cluster sort as their IDs do: the store reads the
	// page in order and stops at its end.
	ids, more, err := c.store.TaskPage(cluster, taskID(after), size, func(t *store.Task) bool {
		return t.DesiredStatus == desired &&
			(in.Family == "" || t.Family == in.Family) &&
			(in.StartedBy == "" || t.StartedBy == in.StartedBy) &&
			(in.LaunchType == "" || t.LaunchType == in.LaunchType) &&
			(instance == "" || t.Instance == instance)
	})
	if err != nil {
		return nil, err
	}
	out := &api.ListTasksOutput{TaskArns: make([]string, len(ids))}
	for i, id := range ids {
		out.TaskArns[i] = c.namer.Task(cluster, id)
	}
	if more {
		out.NextToken = api.NextToken(out.TaskArns[len(ids)-1])
	}
	return out, nil
}

// forgetStopped forgets the tasks STOPPED longer than the retention ago,
// as ECS forgets stopped tasks.
func (c *Controller) forgetStopped(now time.Time) {
	recs, err := c.store.Tasks("", func(t *store.Task) bool {
		return t.StoppedAt != nil && now.Sub(*t.StoppedAt) > c.opts.StoppedTaskRetention
	})
	if err != nil {
		return
	}
	// The output goes first: a server that stops in between forgets the
	// tasks at its next start, and no file is left that no task names.
	c.forgetOutput(recs)
	byCluster := map[string][]string{}
	for _, r := range recs {
		byCluster[r.Cluster] = append(byCluster[r.Cluster], r.ID)
	}
	for cluster, ids := range byCluster {
		if err := c.store.DeleteTasks(cluster, ids...); err != nil {
			c.opts.Logf("forget stopped tasks of %s: %v", cluster, strings.Join(ids, ", "))
		}
	}
}

// specOf is what the agent needs to start a recorded task.
func (c *Controller) specOf(cluster string, rec store.Task) (agent.TaskSpec, error) {
	t, err := taskOf(rec)
	if err != nil {
		return agent.TaskSpec{}, err
	}
	var rt taskRuntime
	if err := json.Unmarshal(rec.Runtime, &rt); err != nil {
		return agent.TaskSpec{}, err
	}
	def, task, err := c.loadForLaunch(t.TaskDefinitionArn, rec.LaunchType)
	if err != nil {
		return agent.TaskSpec{}, err
	}
	overrides, err := agentOverrides(t.Overrides, &task.Definition)
	if err != nil {
		return agent.TaskSpec{}, err
	}
	return agent.TaskSpec{ARN: t.TaskArn, Task: task, Revision: def.Revision, LaunchType: rec.LaunchType,
		Group: rt.Group, StartedBy: rec.StartedBy, Overrides: overrides, Address: rt.Address}, nil
}
