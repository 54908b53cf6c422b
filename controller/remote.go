package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/taskdef"
)

// Container instances of other engines: a berth agent connects to the
// server (agentproto), registers its instance in its Hello, and from then
// on the server hands it the tasks placed there and the stops asked of
// them, and records what it reports through the same observe as the
// server's own agents. docs/agent-protocol.md draws the conversation.
//
//	Hello ──► registerInstance (agentConnected, where it runs)
//	      ◄── Welcome: what each task of the instance should be
//	RunTask, StopTask ──► remote.startTask/stopTask ──► PayloadMessage (Outbox)
//	TaskStateChange ──► newest version only ──► observe
//	silence ≥ AgentTimeout ──► agentConnected false (placement: AGENT)

// DefaultAgentTimeout is how long an instance's berth agent may be silent
// before the instance is agentConnected false. Agents heartbeat three
// times in it.
const DefaultAgentTimeout = 30 * time.Second

// remoteAgents are the berth agents of the server's instances, connected
// or not.
type remoteAgents struct {
	c       *Controller
	timeout time.Duration

	mu     sync.Mutex
	byKey  map[string]*remote // by cluster/ID
	closed bool
	conns  sync.WaitGroup // connections being served
	// live are the connections being served, an agent's or not yet
	// anyone's (before its Hello is answered): close ends them all.
	live map[*agentproto.Conn]struct{}
	// connects wakes the watch when an agent connects whose silence
	// comes before the moment the watch sleeps until (until, when
	// sleeping is set; any, while it is not).
	connects chan struct{}
	until    time.Time
	sleeping bool
}

func newRemoteAgents(c *Controller, timeout time.Duration) *remoteAgents {
	if timeout <= 0 {
		timeout = DefaultAgentTimeout
	}
	return &remoteAgents{c: c, timeout: timeout, byKey: map[string]*remote{}, live: map[*agentproto.Conn]struct{}{},
		connects: make(chan struct{}, 1)}
}

// heartbeat is how often agents heartbeat: three times a timeout.
func (ra *remoteAgents) heartbeat() time.Duration { return ra.timeout / 3 }

// of is the remote runner of an instance.
func (ra *remoteAgents) of(cluster, id string) *remote {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	key := cluster + "/" + id
	r, ok := ra.byKey[key]
	if !ok {
		r = &remote{c: ra.c, ra: ra, cluster: cluster, id: id, outbox: agentproto.NewOutbox(), versions: map[string]int64{}}
		ra.byKey[key] = r
	}
	return r
}

// all lists the remote runners.
func (ra *remoteAgents) all() []*remote {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	out := make([]*remote, 0, len(ra.byKey))
	for _, r := range ra.byKey {
		out = append(out, r)
	}
	return out
}

// start gives the agents the store says are connected one timeout from
// now to connect to this server, and watches every agent's silence until
// ctx ends. It reads the instances without their loads: a load is a walk
// over the cluster's tasks, for each instance.
func (ra *remoteAgents) start(ctx context.Context) error {
	clusters, err := ra.c.store.Clusters("")
	if err != nil {
		return err
	}
	now := ra.c.now()
	for _, cl := range clusters {
		recs, err := ra.c.store.ContainerInstancesUnloaded(cl.Name)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Agent != nil && rec.AgentConnected && rec.Status != store.StatusInactive {
				r := ra.of(rec.Cluster, rec.ID)
				r.mu.Lock()
				r.connected, r.lastHeard = true, now
				r.mu.Unlock()
			}
		}
	}
	ra.c.wg.Add(1)
	go func() {
		defer ra.c.wg.Done()
		ra.watch(ctx)
	}()
	return nil
}

// watch makes each instance agentConnected false the moment its agent has
// been silent for the timeout: it sleeps until the first moment one of the
// connected agents can have been (the last word heard from it plus the
// timeout; a word heard meanwhile only puts that later), and looks again
// when an agent connects that can be silent before that moment, until ctx
// ends. Those that connect later than the others are not: a server's
// agents connecting one after the other do not make it look at every
// agent at each connection.
func (ra *remoteAgents) watch(ctx context.Context) {
	timer := ra.c.opts.Clock.NewTimer(ra.timeout)
	defer timer.Stop()
	for {
		// An agent that connects while the watch looks wakes it again.
		ra.mu.Lock()
		ra.sleeping = false
		ra.mu.Unlock()
		next, ok := ra.expire(ra.c.now())
		ra.mu.Lock()
		ra.until, ra.sleeping = next, ok
		ra.mu.Unlock()
		var due <-chan time.Time
		if ok {
			timer.Reset(next.Sub(ra.c.now()))
			due = timer.C()
		} else {
			timer.Stop()
		}
		select {
		case <-due:
		case <-ra.connects:
		case <-ctx.Done():
			return
		}
	}
}

// expire makes the instances whose agents have been silent for the
// timeout at now agentConnected false, and says when the next of those
// still connected can be, if any is.
func (ra *remoteAgents) expire(now time.Time) (next time.Time, ok bool) {
	for _, r := range ra.all() {
		if due, connected := r.expire(now, ra.timeout); connected && (!ok || due.Before(next)) {
			next, ok = due, true
		}
	}
	return next, ok
}

// connectedNow wakes the watch when an agent that connected, heard at
// heard, can be silent for the timeout before the moment it sleeps until.
func (ra *remoteAgents) connectedNow(heard time.Time) {
	ra.mu.Lock()
	wake := !ra.sleeping || heard.Add(ra.timeout).Before(ra.until)
	ra.mu.Unlock()
	if !wake {
		return
	}
	select {
	case ra.connects <- struct{}{}:
	default:
	}
}

// close drops every agent's connection and waits for their service to
// end; the agents connect to the next server.
func (ra *remoteAgents) close() {
	ra.mu.Lock()
	ra.closed = true
	remotes := make([]*remote, 0, len(ra.byKey))
	for _, r := range ra.byKey {
		remotes = append(remotes, r)
	}
	live := make([]*agentproto.Conn, 0, len(ra.live))
	for conn := range ra.live {
		live = append(live, conn)
	}
	ra.mu.Unlock()
	for _, r := range remotes {
		r.mu.Lock()
		conn := r.conn
		r.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	}
	// Those not yet an instance's too: one whose Hello was being read
	// when the server began to stop would otherwise be waited for as
	// long as its agent heartbeats.
	for _, conn := range live {
		conn.Close()
	}
	ra.conns.Wait()
}

// describe is where an instance runs, as DescribeContainerInstances shows
// it.
func (ra *remoteAgents) describe(rec store.ContainerInstance) *api.InstanceAgent {
	if rec.Agent == nil {
		return &api.InstanceAgent{Runs: "local"}
	}
	reachable := rec.Agent.EngineReachable
	last := rec.Agent.LastHeard
	ra.mu.Lock()
	r := ra.byKey[rec.Cluster+"/"+rec.ID]
	ra.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		if r.lastHeard.After(last) {
			last = r.lastHeard
		}
		r.mu.Unlock()
	}
	return &api.InstanceAgent{Runs: "agent", Host: rec.Agent.Host, Engine: rec.Agent.Engine, EngineReachable: &reachable, LastHeartbeat: api.Time(last)}
}

// health is the health of a berth agent's instance, as ECS's
// CONTAINER_INSTANCE_HEALTH shows it: CONTAINER_RUNTIME is OK while its
// engine answers and IMPAIRED while it does not, as the agent last said.
// An instance of the server's own engine has none.
func (ra *remoteAgents) health(rec store.ContainerInstance) *api.ContainerInstanceHealthStatus {
	if rec.Agent == nil {
		return nil
	}
	status, reason := "OK", ""
	if !rec.Agent.EngineReachable {
		status, reason = "IMPAIRED", "the agent's Docker engine does not answer"
	}
	return &api.ContainerInstanceHealthStatus{OverallStatus: status, Details: []api.InstanceHealthCheckResult{
		{Type: "CONTAINER_RUNTIME", Status: status, StatusReason: reason, LastUpdated: ra.describe(rec).LastHeartbeat}}}
}

// AgentHandler serves berth agents' connections (agentproto.Path): each
// registers its instance and runs the tasks placed there. Whoever reaches
// it may run containers on the agents' engines: berth server guards it
// with the token of the ECS API.
func (c *Controller) AgentHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ra := c.remote
		ra.mu.Lock()
		if ra.closed {
			ra.mu.Unlock()
			http.Error(w, "berth server is stopping", http.StatusServiceUnavailable)
			return
		}
		ra.conns.Add(1)
		ra.mu.Unlock()
		defer ra.conns.Done()
		conn, err := agentproto.Accept(w, r)
		if err != nil {
			return
		}
		defer conn.Close()
		ra.mu.Lock()
		if ra.closed {
			ra.mu.Unlock()
			return
		}
		ra.live[conn] = struct{}{}
		ra.mu.Unlock()
		defer func() {
			ra.mu.Lock()
			delete(ra.live, conn)
			ra.mu.Unlock()
		}()
		conn.IdleTimeout = ra.timeout
		if err := ra.serve(conn); err != nil {
			c.opts.Logf("berth agent at %s: %v", r.RemoteAddr, err)
		}
	})
}

// serve is one connection of an agent: its Hello, the Welcome, then what
// either side sends until it drops.
func (ra *remoteAgents) serve(conn *agentproto.Conn) error {
	f, err := conn.Read()
	if err != nil {
		return fmt.Errorf("read its Hello: %w", err)
	}
	var hello agentproto.Hello
	if f.Type != agentproto.TypeHello {
		err = fmt.Errorf("its first message is %s, not %s", f.Type, agentproto.TypeHello)
	} else {
		err = agentproto.Decode(f, &hello)
	}
	var r *remote
	if err == nil {
		r, err = ra.hello(conn, hello)
	}
	if err != nil {
		conn.Write(agentproto.TypeRefused, agentproto.Refused{Reason: err.Error()})
		return err
	}
	defer r.detach(conn)
	counters := ra.c.opts.Metrics
	// reason is set for an agent that broke the protocol; otherwise why
	// is worked out as the connection ends.
	reason := ""
	defer func() {
		if reason == "" {
			reason = ra.disconnection(r, conn)
		}
		counters.AgentDisconnected(r.cluster, reason)
	}()
	welcome := r.welcome(hello, ra.heartbeat())
	if err := conn.Write(agentproto.TypeWelcome, welcome); err != nil {
		return err
	}
	// From here on assignments go straight to the agent; those made
	// before, and those not acknowledged on an earlier connection, go now.
	// One made in between may go twice: the agent acts on it once.
	r.ready(conn)
	pending := r.outbox.Pending()
	for _, f := range pending {
		if err := conn.Write(f.Type, f.Message); err != nil {
			return err
		}
	}
	counters.AgentAssignmentsRedelivered(r.cluster, len(pending))
	for {
		f, err := conn.Read()
		if err != nil {
			return nil // dropped: the agent connects again, or falls silent
		}
		r.heard(ra.c.now())
		switch f.Type {
		case agentproto.TypeAck:
			var ack agentproto.AckRequest
			if err := agentproto.Decode(f, &ack); err != nil {
				reason = metrics.DisconnectProtocolError
				return err
			}
			if r.outbox.Ack(ack.MessageID) {
				counters.AgentAssignmentAcknowledged(r.cluster)
			}
		case agentproto.TypeTaskStateChange:
			var m agentproto.TaskStateChange
			if err := agentproto.Decode(f, &m); err != nil {
				reason = metrics.DisconnectProtocolError
				return err
			}
			// A report is acknowledged once it is recorded. One the store
			// failed to record ends the connection: it stays in the
			// agent's outbox, and comes again on the agent's next
			// connection with those after it, in order (acknowledged, a
			// later one would go before it).
			if err := r.report(m); err != nil {
				return err
			}
			if err := conn.Write(agentproto.TypeAck, agentproto.AckRequest{MessageID: m.MessageID}); err != nil {
				return err
			}
		case agentproto.TypeHeartbeat:
			var hb agentproto.HeartbeatMessage
			if err := agentproto.Decode(f, &hb); err != nil {
				reason = metrics.DisconnectProtocolError
				return err
			}
			counters.AgentHeartbeat(r.cluster)
			r.engine(hb.EngineReachable)
			if err := conn.Write(agentproto.TypeHeartbeatAck, agentproto.HeartbeatMessage{MessageID: hb.MessageID}); err != nil {
				return err
			}
		default:
			reason = metrics.DisconnectProtocolError
			return fmt.Errorf("it sent a %s, which an agent does not send", f.Type)
		}
	}
}

// disconnection is why an agent's connection ended, as far as the server
// knows: it is stopping; the watch found the agent silent and closed it;
// the agent connected again and its newer connection replaced this one; or
// it dropped.
func (ra *remoteAgents) disconnection(r *remote, conn *agentproto.Conn) string {
	ra.mu.Lock()
	closed := ra.closed
	ra.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case closed:
		return metrics.DisconnectServerStopping
	case r.conn != nil && r.conn != conn:
		return metrics.DisconnectReplaced
	case !r.connected:
		return metrics.DisconnectSilent
	default:
		return metrics.DisconnectDropped
	}
}

// connected counts the connected agents of each cluster that has an
// instance a berth agent runs, and of clusters (0 for those with none).
func (ra *remoteAgents) connected(clusters []string) []metrics.AgentCount {
	byCluster := map[string]int{}
	for _, cl := range clusters {
		byCluster[cl] = 0
	}
	for _, r := range ra.all() {
		r.mu.Lock()
		up := r.connected
		r.mu.Unlock()
		n := byCluster[r.cluster]
		if up {
			n++
		}
		byCluster[r.cluster] = n
	}
	out := make([]metrics.AgentCount, 0, len(byCluster))
	for cluster, n := range byCluster {
		out = append(out, metrics.AgentCount{Cluster: cluster, Connected: n})
	}
	return out
}

// hello registers the instance an agent says it is (a new one when it
// names none) and makes conn its connection.
func (ra *remoteAgents) hello(conn *agentproto.Conn, h agentproto.Hello) (*remote, error) {
	in := h.Registration
	in.Cluster, in.ContainerInstanceArn = h.Cluster, h.ContainerInstanceArn
	if in.VersionInfo == nil {
		in.VersionInfo = &api.VersionInfo{}
	}
	if in.VersionInfo.AgentVersion == "" {
		in.VersionInfo.AgentVersion = h.AgentVersion
	}
	if h.EngineAPIVersion == "" {
		return nil, errors.New("Hello.engineApiVersion is empty: the agent must say its engine's Docker API version, which the instance's capabilities follow (an agent older than the server?)")
	}
	now := ra.c.now()
	where := &store.RemoteAgent{Host: h.Host, Engine: h.Engine, EngineReachable: h.EngineReachable, LastHeard: now.UTC(),
		EngineAPIVersion: h.EngineAPIVersion, RegistrationKey: h.RegistrationKey}
	var r *remote
	if h.ContainerInstanceArn != "" {
		// The instance is connected from before its registration is
		// stored: a watch that found it silent a moment ago does not
		// undo the registration.
		cluster, err := api.ClusterName(h.Cluster)
		if err != nil {
			return nil, err
		}
		id, err := registeringID(cluster, h.ContainerInstanceArn)
		if err != nil {
			return nil, err
		}
		r = ra.of(cluster, id)
		r.attach(conn, now, h.EngineReachable)
	}
	out, err := ra.c.registerInstance(&in, where)
	if err != nil {
		if r != nil {
			// Not connected after all: there is nothing to watch.
			r.detach(conn)
			r.mu.Lock()
			r.connected = false
			r.mu.Unlock()
		}
		return nil, fmt.Errorf("register its instance: %w", err)
	}
	cluster, id, _ := api.ContainerInstanceRef(out.ContainerInstance.ContainerInstanceArn)
	if r == nil {
		r = ra.of(cluster, id)
		r.attach(conn, now, h.EngineReachable)
	}
	return r, nil
}

// remote runs the tasks of one instance through its berth agent.
type remote struct {
	c           *Controller
	ra          *remoteAgents
	cluster, id string
	// outbox holds the payloads the agent has not acknowledged, to send
	// again on its next connection.
	outbox *agentproto.Outbox

	mu sync.Mutex
	// conn is the agent's connection, nil while it is away; live is set
	// once the Welcome has gone on it.
	conn      *agentproto.Conn
	live      bool
	gen       int // counts connections, so a watch acts on the one it saw
	connected bool
	lastHeard time.Time
	reachable bool
	seq       int64
	// versions is the newest version recorded of each task not stopped:
	// an older report that comes late changes nothing.
	versions map[string]int64
}

func (r *remote) arn() string { return r.c.namer.ContainerInstance(r.cluster, r.id) }

// attach makes conn the agent's connection, closing any it had.
func (r *remote) attach(conn *agentproto.Conn, now time.Time, reachable bool) {
	r.mu.Lock()
	old := r.conn
	r.conn, r.live, r.connected, r.lastHeard, r.reachable = conn, false, true, now, reachable
	r.gen++
	// A restarted agent counts its tasks' versions afresh; within a
	// connection its reports come in order.
	r.versions = map[string]int64{}
	r.mu.Unlock()
	r.ra.connectedNow(now)
	if old != nil && old != conn {
		old.Close()
	}
}

// ready lets assignments go on conn.
func (r *remote) ready(conn *agentproto.Conn) {
	r.mu.Lock()
	if r.conn == conn {
		r.live = true
	}
	r.mu.Unlock()
}

// detach forgets conn, when it is still the agent's.
func (r *remote) detach(conn *agentproto.Conn) {
	r.mu.Lock()
	if r.conn == conn {
		r.conn, r.live = nil, false
	}
	r.mu.Unlock()
}

func (r *remote) heard(now time.Time) {
	r.mu.Lock()
	r.lastHeard = now
	r.mu.Unlock()
}

// expire makes the instance agentConnected false when its agent has been
// silent for timeout; its tasks keep their status. It says whether the
// agent is still connected, and when it would have been silent for
// timeout.
func (r *remote) expire(now time.Time, timeout time.Duration) (due time.Time, connected bool) {
	r.mu.Lock()
	due = r.lastHeard.Add(timeout)
	if !r.connected || now.Before(due) {
		connected = r.connected
		r.mu.Unlock()
		return due, connected
	}
	r.connected = false
	gen, last, conn := r.gen, r.lastHeard, r.conn
	r.conn, r.live = nil, false
	r.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	_, err := r.c.store.UpdateContainerInstance(r.cluster, r.id, func(rec *store.ContainerInstance) (bool, error) {
		r.mu.Lock()
		back := r.gen != gen
		r.mu.Unlock()
		if back || !rec.AgentConnected {
			return false, nil
		}
		rec.AgentConnected = false
		if rec.Agent != nil {
			rec.Agent.LastHeard = last.UTC()
		}
		return true, nil
	})
	if err != nil && !errors.Is(err, store.ErrInstanceInactive) && !errors.Is(err, store.ErrNotFound) {
		r.c.opts.Logf("container instance %s: record its agent disconnected: %v", r.id, err)
		return due, false
	}
	r.c.opts.Logf("container instance %s: its agent has been silent since %s: agentConnected false", r.id, last.UTC().Format(time.RFC3339))
	return due, false
}

// engine records whether the agent's engine answers, when that changes:
// an instance whose engine does not answer takes no new tasks.
func (r *remote) engine(reachable bool) {
	r.mu.Lock()
	changed := r.reachable != reachable
	r.reachable = reachable
	r.mu.Unlock()
	if !changed {
		return
	}
	_, err := r.c.store.UpdateContainerInstance(r.cluster, r.id, func(rec *store.ContainerInstance) (bool, error) {
		if rec.Agent == nil || rec.Agent.EngineReachable == reachable {
			return false, nil
		}
		rec.Agent.EngineReachable = reachable
		return true, nil
	})
	if err != nil {
		r.c.opts.Logf("container instance %s: record whether its engine answers: %v", r.id, err)
	}
}

// send hands payload to the agent, now when it is connected, and keeps it
// until the agent acknowledges it.
func (r *remote) send(tasks ...agentproto.Assignment) {
	r.mu.Lock()
	r.seq++
	msg := agentproto.PayloadMessage{MessageID: agentproto.NewMessageID(), SeqNum: r.seq, Tasks: tasks}
	conn := r.conn
	if !r.live {
		conn = nil
	}
	r.mu.Unlock()
	if _, err := r.outbox.Add(msg.MessageID, agentproto.TypePayload, msg); err != nil {
		r.c.opts.Logf("container instance %s: %v", r.id, err)
		return
	}
	if conn != nil {
		// A write that fails leaves the payload in the outbox, for the
		// agent's next connection.
		if conn.Write(agentproto.TypePayload, msg) == nil {
			r.c.opts.Metrics.AgentAssignmentsSent(r.cluster, 1)
		}
	}
}

func (r *remote) startTask(ctx context.Context, cluster string, spec agent.TaskSpec) error {
	r.send(assignmentOf(spec))
	return nil
}

func (r *remote) stopTask(ctx context.Context, cluster, arn, reason string, code agent.StopCode) error {
	r.send(agentproto.Assignment{TaskArn: arn, DesiredStatus: "STOPPED", StopCode: string(code), StoppedReason: reason})
	return nil
}

// follow has nothing to do: the agent reports every task it holds on each
// connection, and each change of them.
func (r *remote) follow(ctx context.Context, cluster string) error { return nil }

// report records what the agent says of one of its tasks, unless the
// record has a newer word of it already or the task is not the
// instance's. It fails only when the store failed to read or record the
// report.
func (r *remote) report(m agentproto.TaskStateChange) error {
	s, err := m.State()
	if err != nil {
		r.c.opts.Logf("container instance %s: a report of task %s: %v", r.id, m.Change.Task, err)
		return nil
	}
	cluster, id, err := api.TaskRef(s.ARN)
	if err != nil || cluster != r.cluster {
		return nil
	}
	rec, err := r.c.store.Task(r.cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("a report of task %s: %w", id, err)
	}
	if rec.Instance != r.id || rec.LaunchType == taskdef.LaunchFargate {
		return nil
	}
	r.mu.Lock()
	stale := m.Version <= r.versions[s.ARN]
	if !stale {
		r.versions[s.ARN] = m.Version
		if s.LastStatus >= agent.TaskStopped {
			delete(r.versions, s.ARN) // the record takes no word after STOPPED
		}
	}
	r.mu.Unlock()
	if stale {
		return nil
	}
	return r.c.observe(r.cluster, s)
}

// welcome says what each task of the instance should be, after the
// agent's Hello listed those it runs: those it runs go on as the record
// wants them (stopped, when the server stopped them while the agent was
// away); those assigned and never started (the payload, or the agent's
// word of it, lost, even with a server's restart between) are assigned
// again; a task
// stopped before the agent had it is STOPPED now; and one that ran and the
// agent no longer has vanished with its containers. The Hello says which
// tasks the agent holds, not what they are: after the Welcome the agent
// reports each as it is now, and report records it.
func (r *remote) welcome(h agentproto.Hello, heartbeat time.Duration) agentproto.Welcome {
	c := r.c
	w := agentproto.Welcome{ContainerInstanceArn: r.arn(), HeartbeatMillis: heartbeat.Milliseconds(), Tasks: []agentproto.Assignment{}}
	runs := map[string]bool{}
	for _, t := range h.Tasks {
		runs[t.TaskArn] = true
	}
	recs, err := c.instanceTasks(r.cluster, r.id)
	if err != nil {
		c.opts.Logf("container instance %s: its tasks: %v", r.id, err)
		return w
	}
	for _, rec := range recs {
		arn := c.namer.Task(r.cluster, rec.ID)
		t, err := taskOf(rec)
		if err != nil {
			c.opts.Logf("task %s: %v", rec.ID, err)
			continue
		}
		switch {
		case runs[arn] && rec.DesiredStatus == "STOPPED":
			w.Tasks = append(w.Tasks, agentproto.Assignment{TaskArn: arn, DesiredStatus: "STOPPED", StopCode: t.StopCode, StoppedReason: t.StoppedReason})
		case runs[arn]:
			w.Tasks = append(w.Tasks, agentproto.Assignment{TaskArn: arn, DesiredStatus: "RUNNING"})
		case rec.DesiredStatus == "STOPPED":
			c.stoppedWithout(r.cluster, arn, t.StopCode, t.StoppedReason)
		case neverStarted(t):
			spec, err := c.specOf(r.cluster, rec)
			if err != nil {
				c.stoppedWithout(r.cluster, arn, api.StopCodeTaskFailedToStart, "ResourceInitializationError: "+err.Error())
				continue
			}
			w.Tasks = append(w.Tasks, assignmentOf(spec))
		case c.starting(arn):
		default:
			c.stoppedWithout(r.cluster, arn, api.StopCodeTaskFailedToStart,
				"ContainerVanishedError: the task's containers were not on its instance's engine when its agent connected again")
		}
	}
	return w
}

// instanceTasks are the tasks placed on instance id of cluster that are
// not STOPPED, whole, in ID order. The placement index names them, so
// that only they are read from the store, not every task of the cluster;
// each is checked again as the store holds it, which a task changed since
// the index was read may no longer match.
func (c *Controller) instanceTasks(cluster, id string) ([]store.Task, error) {
	ids, _, err := c.held.onInstance(c.store, cluster, id)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	byID, err := c.store.TasksByID(cluster, ids)
	if err != nil {
		return nil, err
	}
	recs := make([]store.Task, 0, len(ids))
	for _, tid := range ids {
		if t, ok := byID[tid]; ok && t.Instance == id && t.LastStatus != "STOPPED" {
			recs = append(recs, t)
		}
	}
	return recs, nil
}

// neverStarted is a task no agent has said it made a container of: one
// its agent does not run may start afresh. The record's version does not
// tell: a tag changes it too.
func neverStarted(t *api.Task) bool {
	if t.LastStatus != "PROVISIONING" && t.LastStatus != "PENDING" {
		return false
	}
	for _, ctr := range t.Containers {
		if ctr.RuntimeID != "" {
			return false
		}
	}
	return true
}

// assignmentOf is a task to start as an agent receives it.
func assignmentOf(spec agent.TaskSpec) agentproto.Assignment {
	a := agentproto.Assignment{TaskArn: spec.ARN, DesiredStatus: "RUNNING", Family: spec.Task.Definition.Family, Revision: spec.Revision,
		Definition: &spec.Task.Definition, LaunchType: spec.LaunchType, Group: spec.Group, StartedBy: spec.StartedBy, Address: spec.Address}
	if len(spec.Overrides) > 0 {
		a.Overrides = &api.TaskOverride{}
		for _, o := range spec.Overrides {
			a.Overrides.ContainerOverrides = append(a.Overrides.ContainerOverrides, api.ContainerOverride{Name: o.Name, Command: o.Command, Environment: o.Environment})
		}
	}
	return a
}
