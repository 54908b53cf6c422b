package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// subscribeEvents follows the engine's events for this agent's containers
// from since on.
func (a *Agent) subscribeEvents(since time.Time) (<-chan events.Message, <-chan error) {
	return a.docker.Events(a.ctx, events.ListOptions{
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", LabelManaged+"=true"),
			filters.Arg("label", LabelCluster+"="+a.cfg.Cluster),
			filters.Arg("label", labelInstance+"="+a.cfg.Instance),
		),
	})
}

// watch hands each event to its task. When the stream breaks (the engine
// restarted) it follows again from the last event seen and has every task
// inspect its containers, in case an event fell in the gap.
func (a *Agent) watch(msgs <-chan events.Message, errs <-chan error, since time.Time) {
	defer a.wg.Done()
	last := since
	for {
		select {
		case m := <-msgs:
			if m.TimeNano > 0 {
				last = time.Unix(0, m.TimeNano)
			}
			if t, ok := a.lookup(a.eventTask(m)); ok {
				t.mail.put(m)
			}
		case err := <-errs:
			if a.ctx.Err() != nil {
				return
			}
			a.cfg.Logf("docker events: %v; following again", err)
			select {
			case <-time.After(500 * time.Millisecond):
			case <-a.ctx.Done():
				return
			}
			msgs, errs = a.subscribeEvents(last)
			a.mu.Lock()
			for _, t := range a.tasks {
				t.mail.put(resyncRequest{})
			}
			a.mu.Unlock()
		case <-a.ctx.Done():
			return
		}
	}
}

// eventTask is the ARN of the task an event concerns. A pause container
// that was a spare carries no task label: the spares remember which task
// took it.
func (a *Agent) eventTask(m events.Message) string {
	if arn := m.Actor.Attributes[LabelTaskARN]; arn != "" {
		return arn
	}
	if m.Actor.Attributes[labelSpare] != "true" {
		return ""
	}
	arn := a.spares.Owner(m.Actor.ID)
	if m.Action == events.ActionDestroy {
		a.spares.Disown(m.Actor.ID)
	}
	return arn
}

// onEvent applies one engine event to the task. The event only says that
// something happened; an inspect says what the container is now.
func (t *task) onEvent(m events.Message) {
	id := m.Actor.ID
	if id == t.pauseID {
		switch {
		case t.pauseStopped:
			// Stopped by the agent, or already known to be gone.
		case m.Action == events.ActionKill && isSIGKILL(m.Actor.Attributes["signal"]):
			// No process outlives it; the engine may not have reaped it yet.
			t.pauseLost(pauseKilled)
		case m.Action == events.ActionDie, m.Action == events.ActionKill, m.Action == events.ActionDestroy:
			t.checkPause(m.Action)
		}
		return
	}
	c := t.byID[id]
	if c == nil {
		return
	}
	action := string(m.Action)
	switch {
	case action == string(events.ActionOOM):
		c.oom = true
		// The engine may tell the oom after the die it caused: a container
		// already recorded stopped without a reason gets it now.
		if c.st.LastStatus == ContainerStopped && c.st.Reason == "" && c.started {
			before := *c.st
			c.st.Reason = reasonOutOfMemory
			t.changed(c, before)
		}
	case action == string(events.ActionDestroy):
		if c.dying {
			c.destroyed = true // once the die is settled
			return
		}
		if c.st.LastStatus != ContainerStopped && !t.deleted {
			t.vanished(c)
		}
	case action == string(events.ActionDie):
		// The inspect runs off the run goroutine (as every inspect of an
		// event): its answer comes back through the mail.
		c.dying = true
		t.inspectCtr(c, func(info container.InspectResponse, err error, fresh bool) {
			c.dying = false
			if fresh {
				t.onDieInspected(c, m, info, err)
			}
			if c.destroyed && c.st.LastStatus != ContainerStopped && !t.deleted {
				t.vanished(c)
			}
		})
	case action == string(events.ActionStart),
		strings.HasPrefix(action, string(events.ActionHealthStatus)),
		// The engine tells a health status only when it changes; each
		// check, an exec, ends with exec_die, and brings its output.
		strings.HasPrefix(action, string(events.ActionExecDie)):
		t.inspectCtr(c, func(info container.InspectResponse, err error, fresh bool) {
			switch {
			case !fresh:
			case err == nil:
				t.observe(c, info)
			case cerrdefs.IsNotFound(err) && t.a.ctx.Err() == nil:
				t.vanished(c)
			}
		})
	}
}

// onDieInspected applies a die event with the inspect that confirms it.
func (t *task) onDieInspected(c *ctr, m events.Message, info container.InspectResponse, err error) {
	switch {
	case err == nil:
		t.observe(c, info)
	case t.a.ctx.Err() != nil:
	case cerrdefs.IsNotFound(err):
		// Removed under the task (no task container is auto-removed),
		// as a destroy says.
		t.vanished(c)
	default:
		// An engine that does not answer: the die itself carries the
		// exit code.
		t.logf("inspect %s after it died: %v; taking the exit code of the event", c, err)
		t.exitedFromEvent(c, m)
	}
}

// observe brings a container's state in line with an inspect of it.
func (t *task) observe(c *ctr, info container.InspectResponse) {
	before := *c.st
	before.NetworkBindings = append([]NetworkBinding(nil), before.NetworkBindings...)
	s := info.State
	if s == nil {
		return
	}
	if started := parseTime(s.StartedAt); !started.IsZero() {
		// A die known from its event alone (exitedFromEvent) has no start
		// time yet: the first inspect that has one gives it.
		if !c.started || c.st.StartedAt.IsZero() {
			c.started = true
			c.st.StartedAt = started
			c.st.ImageID = info.Image
			c.st.NetworkBindings = c.bindings
			t.learnAddress(info)
			c.st.IP = t.containerIP(info)
		}
		if c.st.LastStatus < ContainerRunning {
			c.st.LastStatus = ContainerRunning
		}
	}
	if c.started && !s.Running && (s.Status == "exited" || s.Status == "dead") && c.st.LastStatus != ContainerStopped {
		code := s.ExitCode
		c.st.ExitCode = &code
		c.st.FinishedAt = parseTime(s.FinishedAt)
		c.st.LastStatus = ContainerStopped
		if s.OOMKilled || c.oom {
			c.st.Reason = reasonOutOfMemory
		}
	}
	if h := s.Health; h != nil && c.st.LastStatus == ContainerRunning {
		observeHealth(c.st, h, t.a.clock.Now())
	}
	t.changed(c, before)
	t.afterStop(c)
}

// isSIGKILL reports whether a kill event's signal attribute names SIGKILL.
func isSIGKILL(signal string) bool {
	switch strings.ToUpper(signal) {
	case "9", "KILL", "SIGKILL":
		return true
	}
	return false
}

// observeHealth records a running container's health as the engine
// reports it: the status, when it last changed, and the last check's
// output and exit code.
func observeHealth(st *ContainerState, h *container.Health, now time.Time) {
	status := HealthUnknown
	switch h.Status {
	case container.Healthy:
		status = HealthHealthy
	case container.Unhealthy:
		status = HealthUnhealthy
	}
	var last *container.HealthcheckResult
	if n := len(h.Log); n > 0 {
		last = h.Log[n-1]
	}
	if status != st.HealthStatus || st.HealthStatusSince.IsZero() {
		st.HealthStatus = status
		// The engine keeps no time of the change: the check that made it
		// is the last one, and before any check the status dates from
		// the container's start.
		switch {
		case status == HealthUnknown && !st.StartedAt.IsZero():
			st.HealthStatusSince = st.StartedAt
		case last != nil && !last.End.IsZero():
			st.HealthStatusSince = last.End.UTC()
		default:
			st.HealthStatusSince = now.UTC()
		}
	}
	if last != nil {
		code := last.ExitCode
		st.HealthOutput = last.Output
		st.HealthExitCode = &code
	}
}

// exitedFromEvent records an exit the engine would not confirm, from what
// the die event itself carries.
func (t *task) exitedFromEvent(c *ctr, m events.Message) {
	if c.st.LastStatus == ContainerStopped {
		return
	}
	before := *c.st
	if code, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil {
		c.st.ExitCode = &code
	}
	c.started = true
	c.st.LastStatus = ContainerStopped
	c.st.FinishedAt = time.Unix(0, m.TimeNano).UTC()
	if c.oom {
		c.st.Reason = reasonOutOfMemory
	}
	t.changed(c, before)
	t.afterStop(c)
}

// vanished records a container that is gone from the engine without the
// agent seeing it stop.
func (t *task) vanished(c *ctr) {
	if c.st.LastStatus == ContainerStopped {
		return
	}
	before := *c.st
	c.st.LastStatus = ContainerStopped
	what := "the container " + c.st.DockerName
	if c.st.DockerName == "" {
		what = "container " + c.def.Name + " of the task"
	}
	c.st.Reason = string(ContainerVanishedError) + ": " + what + " is no longer on the engine"
	t.changed(c, before)
	t.afterStop(c)
}

// afterStop stops the task when an essential container has stopped.
func (t *task) afterStop(c *ctr) {
	if c.st.LastStatus == ContainerStopped && c.st.Essential && t.state.DesiredStatus == TaskRunning {
		t.beginStop(StopEssentialContainerExited, reasonEssentialContainerExited)
	}
}

// resync inspects every container of the task, its pause container
// first.
func (t *task) resync() {
	t.checkPause("")
	for _, c := range t.ctrs {
		if c.st.DockerID == "" || c.st.LastStatus == ContainerStopped {
			continue
		}
		t.inspectCtr(c, func(info container.InspectResponse, err error, fresh bool) {
			switch {
			case !fresh:
			case err == nil:
				t.observe(c, info)
			case cerrdefs.IsNotFound(err):
				t.vanished(c)
			}
		})
	}
}

// containerIP is the address a container has on its network.
func (t *task) containerIP(info container.InspectResponse) string {
	if t.def().NetworkMode == "awsvpc" {
		return t.state.Address
	}
	if info.NetworkSettings == nil {
		return ""
	}
	for _, ep := range info.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
	}
	return ""
}

func parseTime(s string) time.Time {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || tm.Year() <= 1 {
		return time.Time{}
	}
	return tm.UTC()
}
