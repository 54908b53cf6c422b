package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// A container's output reaches its task's TaskSpec.Output the way docker
// run gets it, not through the engine's stored logs, which the log driver
// rotates (json-file max-size and max-file) and may drop (mode
// non-blocking) behind a reader's back:
//
//	create ─ attach (stream, stdout, stderr) ─ start ─ … ─ exit ─ end of stream
//	           └─ copy goroutine: stream → OutputWriter ─ CloseWithError
//
// Attached before the start, the stream holds every byte from the first;
// the engine writes to it as the container writes, so a slow writer slows
// the container and nothing is dropped. An attach the engine refuses does
// not fail the task: the container runs, its stored logs are followed from
// its start instead, and a warning says its output may be incomplete.

// OutputWriter receives the output of one container, stdout and stderr
// interleaved as the engine sends them. An *io.PipeWriter is one.
//
// Write may block: the container then waits, as it does for a slow docker
// run. It must return, with an error if need be, once nobody wants the
// output any more; the agent then reads on and discards the rest, so that
// the container never waits for good.
type OutputWriter interface {
	io.Writer
	// CloseWithError is called once, after the last Write: with nil when
	// the output came whole, from the container's first byte to its exit
	// (or the container never ran), otherwise with an
	// *OutputIncompleteError saying why some may be missing.
	CloseWithError(err error) error
}

// StderrWriter is an OutputWriter that takes a container's standard error
// apart from its standard output: Stderr is asked for once, before the
// first Write, and what the container writes to standard error goes there
// (a container with a TTY has only standard output). Its writes count as
// the OutputWriter's: an error from either makes the output incomplete.
type StderrWriter interface {
	OutputWriter
	Stderr() io.Writer
}

// OutputIncompleteError says that some of a container's output may not
// have reached its OutputWriter: the engine refused the attach, the stream
// broke before the container exited, the writer failed, or the agent
// closed first. The task also carries it as a warning.
type OutputIncompleteError struct {
	Container string
	Err       error
}

func (e *OutputIncompleteError) Error() string {
	return fmt.Sprintf("output of %s may be incomplete: %v", e.Container, e.Err)
}

func (e *OutputIncompleteError) Unwrap() error { return e.Err }

// errStreamEndedEarly is why a stream that ended while its container still
// runs is incomplete.
var errStreamEndedEarly = errors.New("the engine ended the output stream while the container still runs")

// errAgentClosedFirst is why a stream the agent's Close cut is incomplete:
// the container runs on, unread.
var errAgentClosedFirst = fmt.Errorf("the agent closed first: %w", ErrClosed)

// streamEndGrace is how long a container whose stream has ended may take to
// be reported stopped before the end counts as a break. The engine ends the
// stream just before it records the exit, so the two are moments apart.
const streamEndGrace = 10 * time.Second

// outputStream carries one container's output to its writer. The run
// goroutine makes it and decides about it (fallback, abandon); the copy
// goroutine, once there is one, owns the writer.
type outputStream struct {
	t    *task
	name string
	id   string
	tty  bool
	sink OutputWriter
	// resp is the attached stream; nil when the attach failed.
	resp *types.HijackedResponse
	// attachErr, when the attach failed, is why: the stored logs are
	// followed from the container's start instead.
	attachErr error

	// owned by run
	copying bool // a copy goroutine (attached or following) has the sink
	settled bool // nothing is left for the run goroutine to decide

	closeOnce sync.Once
	abandoned atomic.Bool
}

// outputEnded tells the run goroutine that a container's output may be
// incomplete, so the task carries the warning.
type outputEnded struct{ err *OutputIncompleteError }

// attachOutput asks the task's Output for c's writer and attaches to the
// container, which must be created and not yet started. A refused attach
// is a warning, not a failure.
func (t *task) attachOutput(ctx context.Context, c *ctr) {
	if t.output == nil {
		return
	}
	sink := t.output(c.def.Name)
	if sink == nil {
		return
	}
	s := &outputStream{t: t, name: c.def.Name, id: c.st.DockerID, tty: boolOf(c.def.PseudoTerminal), sink: sink}
	c.output = s
	resp, err := t.a.docker.ContainerAttach(ctx, c.st.DockerID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	switch {
	case err == nil:
		s.resp = &resp
		s.copying = true
		t.a.wg.Add(1) // the run goroutine holds the wait group: Close waits for this one too
		go s.copyAttached()
	case ctx.Err() != nil:
		// The task is stopping before it started: nothing will run.
		s.settled = true
		s.closeSink(nil)
	default:
		s.attachErr = fmt.Errorf("attach: %w; following its logs instead", err)
		t.warn(s.incomplete(s.attachErr).Error())
	}
}

// tendOutputs follows the stored logs of a container the agent could not
// attach to once it is asked to start, and ends the stream of a container
// that will never run (the engine need not end it). The run goroutine
// calls it whenever the task may have moved.
func (t *task) tendOutputs() {
	for _, c := range t.ctrs {
		s := c.output
		if s == nil || s.settled {
			continue
		}
		neverRan := c.st.LastStatus == ContainerStopped && !c.started
		switch {
		case s.resp == nil && !s.copying && c.startRequested && !c.startPending:
			// Logs followed before the engine has started the container
			// would end at once, with nothing.
			s.copying = true
			t.a.wg.Add(1)
			go s.followLogs()
		case s.resp == nil && !s.copying && neverRan:
			s.settled = true
			s.closeSink(s.incomplete(s.attachErr))
		case s.resp != nil && neverRan:
			s.settled = true
			s.abandon()
		}
	}
}

// endOutputs closes, as the run goroutine ends, the writers no copy
// goroutine has: those of containers the agent could not attach to and
// that were never asked to start. (A copy goroutine ends with the agent.)
func (t *task) endOutputs() {
	for _, c := range t.ctrs {
		if s := c.output; s != nil && !s.settled && !s.copying {
			s.settled = true
			s.closeSink(s.incomplete(s.attachErr))
		}
	}
}

// incomplete wraps why the container's output may be incomplete.
func (s *outputStream) incomplete(err error) *OutputIncompleteError {
	return &OutputIncompleteError{Container: s.name, Err: err}
}

// abandon ends the stream of a container that never ran; its copy
// goroutine closes the writer with no error.
func (s *outputStream) abandon() {
	s.abandoned.Store(true)
	s.resp.Close()
}

// copyAttached copies the attached stream into the writer until the
// container's stream ends, then closes the writer with what it knows of
// the output's completeness.
func (s *outputStream) copyAttached() {
	a := s.t.a
	defer a.wg.Done()
	stopOnClose := context.AfterFunc(a.ctx, s.resp.Close)
	defer stopOnClose()
	defer s.resp.Close()

	writeErr, readErr := s.copy(s.resp.Reader)
	var why error
	switch {
	case s.abandoned.Load():
	case a.ctx.Err() != nil:
		why = errAgentClosedFirst
	case writeErr != nil:
		why = fmt.Errorf("write: %w", writeErr)
	case readErr != nil:
		why = fmt.Errorf("read the engine's stream: %w", readErr)
	case !s.exited():
		why = errStreamEndedEarly
		if a.ctx.Err() != nil {
			why = errAgentClosedFirst
		}
	}
	s.end(why)
}

// followLogs is the fallback for a container the agent could not attach
// to: its stored logs from its start, followed until it stops. Whatever the
// log driver rotated away or dropped is missing, which the writer is told.
func (s *outputStream) followLogs() {
	a := s.t.a
	defer a.wg.Done()
	why := s.attachErr
	rc, err := a.docker.ContainerLogs(a.ctx, s.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		why = errors.Join(why, fmt.Errorf("logs: %w", err))
	} else {
		stopOnClose := context.AfterFunc(a.ctx, func() { rc.Close() })
		writeErr, readErr := s.copy(rc)
		stopOnClose()
		rc.Close()
		switch {
		case writeErr != nil:
			why = errors.Join(why, fmt.Errorf("write: %w", writeErr))
		case readErr != nil && a.ctx.Err() == nil:
			why = errors.Join(why, fmt.Errorf("logs: %w", readErr))
		}
	}
	s.end(why)
}

// copy copies a stream of the engine (multiplexed unless the container has
// a TTY) into the writer. A writer that fails is given nothing more, but
// the stream is read to its end, so that the container never waits for a
// reader that is gone.
func (s *outputStream) copy(r io.Reader) (writeErr, readErr error) {
	var failed error
	w := &recordingWriter{w: s.sink, err: &failed}
	errW := w
	if split, ok := s.sink.(StderrWriter); ok {
		errW = &recordingWriter{w: split.Stderr(), err: &failed}
	}
	if s.tty {
		_, readErr = io.Copy(w, r)
	} else {
		_, readErr = stdcopy.StdCopy(w, errW, r)
	}
	if failed != nil {
		_, readErr = io.Copy(io.Discard, r)
		return failed, readErr
	}
	return nil, readErr
}

// exited reports whether the container has stopped (or is gone), waiting a
// moment for the engine to record an exit it has just streamed the end of.
func (s *outputStream) exited() bool {
	ctx, cancel := context.WithTimeout(s.t.a.ctx, streamEndGrace)
	defer cancel()
	waited, errs := s.t.a.docker.ContainerWait(ctx, s.id, container.WaitConditionNotRunning)
	select {
	case <-waited:
		return true
	case err := <-errs:
		return cerrdefs.IsNotFound(err)
	}
}

// end closes the writer, with why when the output may be incomplete, and
// has the task carry that as a warning.
func (s *outputStream) end(why error) {
	if why == nil {
		s.closeSink(nil)
		return
	}
	incomplete := s.incomplete(why)
	s.closeSink(incomplete)
	s.t.mail.put(outputEnded{err: incomplete})
}

func (s *outputStream) closeSink(err error) {
	s.closeOnce.Do(func() { s.sink.CloseWithError(err) })
}

// onOutputEnded records on the task that a container's output may be
// incomplete.
func (t *task) onOutputEnded(m outputEnded) {
	before := len(t.state.Warnings)
	t.warn(m.err.Error())
	if len(t.state.Warnings) != before {
		t.publish("")
	}
}

// recordingWriter remembers the first error of the writers that share
// err, so a failed write is told apart from a broken stream.
type recordingWriter struct {
	w   io.Writer
	err *error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && *r.err == nil {
		*r.err = err
	}
	return n, err
}
