package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/logstore"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/taskdef"
)

// The output of every container the server runs is kept (package
// logstore) from its first byte, through the agent's TaskSpec.Output,
// until its task is forgotten (StoppedTaskRetention after it stopped):
//
//	logs/tasks/CLUSTER/TASK_ID/CONTAINER      the containers' own
//	logs/awslogs/GROUP/PREFIX%2FCONTAINER%2FTASK_ID
//	                                          awslogs containers', under
//	                                          ECS's stream name in their group
//
// A task the server takes up again after a restart has what its containers
// wrote meanwhile, and write from then on, read from the engine's stored
// logs (resumeOutput): the agent attaches to a container only before it
// starts.

// logSource is where the output of container d of a task is kept: a
// container that asks for awslogs has it under ECS's stream name
// (awslogs-stream-prefix/CONTAINER/TASK_ID) in its awslogs-group; ECS
// names a stream without a prefix by the Docker container ID, which berth
// replaces with CONTAINER/TASK_ID.
func logSource(cluster, id string, d *taskdef.ContainerDefinition) logstore.Source {
	src := logstore.Source{Task: id, Container: d.Name}
	if group, stream, ok := awslogsStream(id, d); ok {
		src.Path = "awslogs/" + fileName(group) + "/" + fileName(stream)
		return src
	}
	src.Path = "tasks/" + fileName(cluster) + "/" + id + "/" + fileName(d.Name)
	return src
}

// awslogsStream is the awslogs group and stream of a container that asks
// for the awslogs driver.
func awslogsStream(id string, d *taskdef.ContainerDefinition) (group, stream string, ok bool) {
	lc := d.LogConfiguration
	if lc == nil || lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] == "" {
		return "", "", false
	}
	stream = d.Name + "/" + id
	if prefix := lc.Options["awslogs-stream-prefix"]; prefix != "" {
		stream = prefix + "/" + stream
	}
	return lc.Options["awslogs-group"], stream, true
}

// fileName makes a name (a group, a stream, a container) one path element:
// escaped, dots too, so that no name is "." or ".."; a name too long for a
// file system is replaced with its hash.
func fileName(name string) string {
	escaped := strings.ReplaceAll(url.PathEscape(name), ".", "%2E")
	if len(escaped) > 200 {
		sum := sha256.Sum256([]byte(name))
		return hex.EncodeToString(sum[:])
	}
	return escaped
}

// keepOutput is a task's TaskSpec.Output: each container's writer in the
// log store.
func (c *Controller) keepOutput(cluster string, spec agent.TaskSpec) func(string) agent.OutputWriter {
	if c.logs == nil {
		return nil
	}
	id := taskID(spec.ARN)
	return func(name string) agent.OutputWriter {
		d := spec.Task.Definition.Container(name)
		if d == nil {
			return nil
		}
		w, err := c.logs.Writer(logSource(cluster, id, d))
		if err != nil {
			c.opts.Logf("task %s: %v", id, err)
			return nil
		}
		return w
	}
}

// definitionOf is the task definition a recorded task runs.
func (c *Controller) definitionOf(rec store.Task) (*taskdef.TaskDefinition, error) {
	t, err := taskOf(rec)
	if err != nil {
		return nil, err
	}
	family, rev, err := api.TaskDefinitionRef(t.TaskDefinitionArn)
	if err != nil {
		return nil, err
	}
	def, err := c.store.TaskDefinition(family, rev)
	if err != nil {
		return nil, err
	}
	return &def.Definition, nil
}

// logSources are where the output of a recorded task's containers is kept.
func (c *Controller) logSources(rec store.Task) ([]logstore.Source, error) {
	def, err := c.definitionOf(rec)
	if err != nil {
		return nil, err
	}
	var srcs []logstore.Source
	for i := range def.ContainerDefinitions {
		srcs = append(srcs, logSource(rec.Cluster, rec.ID, &def.ContainerDefinitions[i]))
	}
	return srcs, nil
}

// forgetOutput removes what is kept of the tasks' containers' output.
func (c *Controller) forgetOutput(recs []store.Task) {
	if c.logs == nil {
		return
	}
	for _, rec := range recs {
		srcs, err := c.logSources(rec)
		if err == nil {
			err = c.logs.Remove(srcs...)
		}
		if err != nil {
			c.opts.Logf("forget the output of task %s: %v", rec.ID, err)
		}
	}
}

// writeError answers an error in ECS's JSON shape.
func writeError(w http.ResponseWriter, status int, e *api.Error) {
	w.Header().Set("Content-Type", api.ContentType)
	w.Header().Set("X-Amzn-Errortype", e.Type)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Type, e.Message})
}

// streamQuery reads since and follow, which both endpoints take.
func streamQuery(q url.Values) (since time.Time, follow bool, err error) {
	if s := q.Get("since"); s != "" {
		if since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, false, api.InvalidParameterException("since %q: want an RFC 3339 time, such as 2006-01-02T15:04:05Z", s)
		}
	}
	switch f := q.Get("follow"); f {
	case "", "0", "false":
	case "1", "true":
		follow = true
	default:
		return time.Time{}, false, api.InvalidParameterException("follow %q: want 1 or 0", f)
	}
	return since, follow, nil
}

// streaming is a request's context, which also ends when the controller
// closes, so that a follower never holds a server's shutdown up.
func (c *Controller) streaming(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(c.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// ndjson writes one JSON object a line, flushed after each batch.
type ndjson struct {
	w   http.ResponseWriter
	enc *json.Encoder
}

func newNDJSON(w http.ResponseWriter) *ndjson {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &ndjson{w: w, enc: json.NewEncoder(w)}
}

func (n *ndjson) flush() error { return http.NewResponseController(n.w).Flush() }

func (c *Controller) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, follow, err := streamQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.(*api.Error))
		return
	}
	// Every cluster's events, as an EventBridge rule on aws.ecs gets them,
	// or one cluster's, as a rule on detail.clusterArn does.
	cluster := ""
	if ref := q.Get("cluster"); ref != "" {
		if cluster, err = c.existingCluster(ref); err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) {
				c.opts.Logf("events of cluster %s: %v", ref, err)
				ae = api.ServerException("internal error")
			}
			writeError(w, http.StatusBadRequest, ae)
			return
		}
	}
	ctx, cancel := c.streaming(r)
	defer cancel()
	out := newNDJSON(w)
	out.flush()
	c.Events(ctx, since, follow, func(e api.Event) error {
		if cluster != "" && eventCluster(e) != cluster {
			return nil
		}
		if err := out.enc.Encode(e); err != nil {
			return err
		}
		return out.flush()
	})
}

// eventCluster is the name of the cluster of the task or instance an
// event is of.
func eventCluster(e api.Event) string {
	if len(e.Resources) == 0 {
		return ""
	}
	ref := api.TaskRef
	if e.DetailType == api.DetailTypeInstance {
		ref = api.ContainerInstanceRef
	}
	cluster, _, _ := ref(e.Resources[0])
	return cluster
}

// findTask finds a task by ID in cluster, or in any cluster when none is
// given (task IDs are unique across clusters).
func (c *Controller) findTask(cluster, id string) (store.Task, error) {
	if cluster != "" {
		name, err := api.ClusterName(cluster)
		if err != nil {
			return store.Task{}, err
		}
		return c.store.Task(name, id)
	}
	heads, err := c.store.TaskHeads("", func(t *store.Task) bool { return t.ID == id })
	if err != nil {
		return store.Task{}, err
	}
	if len(heads) == 0 {
		return store.Task{}, store.ErrNotFound
	}
	return c.store.Task(heads[0].Cluster, id)
}

func (c *Controller) serveLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, follow, err := streamQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.(*api.Error))
		return
	}
	id := r.PathValue("taskID")
	if _, ref, err := api.TaskRef(id); err == nil {
		id = ref
	}
	rec, err := c.findTask(q.Get("cluster"), id)
	var ae *api.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, api.ResourceNotFoundException("task %s not found: it never ran on this server, or it stopped more than %s ago and was forgotten", id, c.opts.StoppedTaskRetention))
		return
	case errors.As(err, &ae):
		writeError(w, http.StatusBadRequest, ae)
		return
	case err != nil:
		c.opts.Logf("logs of task %s: %v", id, err)
		writeError(w, http.StatusInternalServerError, api.ServerException("internal error"))
		return
	}
	if c.logs == nil {
		writeError(w, http.StatusNotFound, api.ResourceNotFoundException("this server keeps no container output"))
		return
	}
	srcs, err := c.logSources(rec)
	if err != nil {
		c.opts.Logf("logs of task %s: %v", id, err)
		writeError(w, http.StatusInternalServerError, api.ServerException("internal error"))
		return
	}
	if name := q.Get("container"); name != "" {
		var names []string
		var only []logstore.Source
		for _, s := range srcs {
			names = append(names, s.Container)
			if s.Container == name {
				only = append(only, s)
			}
		}
		if len(only) == 0 {
			writeError(w, http.StatusBadRequest, api.InvalidParameterException("container %q: task %s has %s", name, id, strings.Join(names, ", ")))
			return
		}
		srcs = only
	}
	ctx, cancel := c.streaming(r)
	defer cancel()
	var woken <-chan struct{}
	if follow {
		var stop func()
		woken, stop = c.logs.Watch(id)
		defer stop()
	}
	tail, err := c.logs.Tail(srcs, since)
	if err != nil {
		c.opts.Logf("logs of task %s: %v", id, err)
		writeError(w, http.StatusInternalServerError, api.ServerException("internal error"))
		return
	}
	defer tail.Close()
	out := newNDJSON(w)
	for {
		// Once the task is STOPPED and no container's writer is open, what
		// the next read finds is the whole of its output.
		changed := c.events.wait()
		done := !follow || c.outputEnded(rec.Cluster, id)
		lines, err := tail.Next()
		for _, l := range lines {
			if out.enc.Encode(l) != nil {
				return
			}
		}
		if err != nil {
			c.opts.Logf("logs of task %s: %v", id, err)
			return
		}
		if out.flush() != nil || done {
			return
		}
		select {
		case <-woken:
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// outputEnded reports whether no more output of a task can come: it is
// STOPPED (or forgotten) and its containers' writers are closed.
func (c *Controller) outputEnded(cluster, id string) bool {
	rec, err := c.store.Task(cluster, id)
	if err == nil && rec.LastStatus != "STOPPED" {
		return false
	}
	return !c.logs.Writing(id)
}

// resumeOutput keeps, for a task the server takes up again, what its
// containers wrote while no server was attached to them, and what they
// write from now on: the engine's stored logs from just after the newest
// line kept, followed until each container stops. Those lines carry the
// engine's time. (What the log driver rotated away meanwhile is lost.)
func (c *Controller) resumeOutput(cluster string, rec store.Task, s agent.TaskState, docker engine.Engine) {
	if c.logs == nil || docker == nil {
		return
	}
	def, err := c.definitionOf(rec)
	if err != nil {
		c.opts.Logf("resume the output of task %s: %v", rec.ID, err)
		return
	}
	for i := range def.ContainerDefinitions {
		d := &def.ContainerDefinitions[i]
		cs, ok := s.Container(d.Name)
		if !ok || cs.DockerID == "" {
			continue
		}
		src := logSource(cluster, rec.ID, d)
		newest, err := c.logs.Newest(src)
		if err != nil {
			c.opts.Logf("resume the output of task %s: %v", rec.ID, err)
			continue
		}
		w, err := c.logs.Writer(src)
		if err != nil {
			c.opts.Logf("resume the output of task %s: %v", rec.ID, err)
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer w.CloseWithError(nil)
			if err := followEngineLogs(c.life, docker, cs.DockerID, d.PseudoTerminal != nil && *d.PseudoTerminal, newest, w); err != nil {
				c.opts.Logf("resume the output of container %s of task %s: %v", d.Name, rec.ID, err)
			}
		}()
	}
}

// followEngineLogs copies a container's stored logs after newest into w,
// following them until the container stops or ctx ends.
func followEngineLogs(ctx context.Context, docker engine.Engine, id string, tty bool, newest time.Time, w *logstore.Writer) error {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
	if !newest.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", newest.Unix(), newest.Nanosecond())
	}
	rc, err := docker.ContainerLogs(ctx, id, opts)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	defer rc.Close()
	stdout := &stampedLines{w: w, stream: "stdout", after: newest}
	stderr := &stampedLines{w: w, stream: "stderr", after: newest}
	if tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	stdout.flush()
	stderr.flush()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// stampedLines reads the engine's lines, each after its time
// ("2026-11-27T10:07:30.443708220Z text"), and keeps those after after.
type stampedLines struct {
	w       *logstore.Writer
	stream  string
	after   time.Time
	partial []byte
}

func (s *stampedLines) Write(p []byte) (int, error) {
	data := append(s.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if err := s.line(data[:i]); err != nil {
			return 0, err
		}
		data = data[i+1:]
	}
	s.partial = append([]byte(nil), data...)
	return len(p), nil
}

func (s *stampedLines) flush() {
	if len(s.partial) > 0 {
		s.line(s.partial)
		s.partial = nil
	}
}

func (s *stampedLines) line(raw []byte) error {
	stamp, text, _ := bytes.Cut(raw, []byte(" "))
	at, err := time.Parse(time.RFC3339Nano, string(stamp))
	if err != nil {
		at, text = time.Now(), raw
	}
	if !at.After(s.after) {
		return nil // kept before
	}
	return s.w.Line(s.stream, at, string(bytes.TrimSuffix(text, []byte("\r"))))
}
