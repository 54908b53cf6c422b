package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Deadlines bound the calls berth makes to the Docker engine, so that an
// engine that takes connections but never answers fails the call instead
// of hanging berth. A zero field takes its default.
type Deadlines struct {
	// Query bounds inspects, lists, info and pings (default 30s).
	Query time.Duration
	// Change bounds creates, starts, removes, kills, network connects and
	// the like (default 2m): the engine does real work for them, slowly
	// when it is busy.
	Change time.Duration
	// StopMargin is added to a stop's own timeout, the time the engine
	// gives the container before it kills it (default 30s). A stop without
	// one is given ECS's longest stopTimeout, 120 s.
	StopMargin time.Duration
	// Image bounds image loads and removes, and the wait for a pull's
	// answer (default 10m).
	Image time.Duration
	// Connect bounds the wait for the engine's answer to a streaming call
	// (events, logs, attach, stats); the stream then lasts as long as its
	// caller's context (default 30s).
	Connect time.Duration
}

// DefaultDeadlines are the deadlines WithDeadlines gives.
func DefaultDeadlines() Deadlines {
	return Deadlines{
		Query:      30 * time.Second,
		Change:     2 * time.Minute,
		StopMargin: 30 * time.Second,
		Image:      10 * time.Minute,
		Connect:    30 * time.Second,
	}
}

// maxStopTimeout is the longest stopTimeout ECS accepts, the wait given
// to a stop that names none (the engine then uses the container's own).
const maxStopTimeout = 120 * time.Second

// DeadlineError is a call the engine did not answer within its deadline.
type DeadlineError struct {
	Call     string
	Deadline time.Duration
	Err      error
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("docker engine did not answer %s within %s", e.Call, e.Deadline)
}

func (e *DeadlineError) Unwrap() error { return e.Err }

// WithDeadlines returns api with DefaultDeadlines on every call that
// berth makes (see WithDeadlinesOf). berth's commands wrap their engine
// client with it before handing it to agent.New or the images package.
func WithDeadlines(api client.APIClient) client.APIClient {
	return WithDeadlinesOf(api, DefaultDeadlines())
}

// WithDeadlinesOf returns api with a deadline on each call berth makes:
// a call the engine has not answered by then returns a *DeadlineError that
// names it. The API version is negotiated (when api negotiates) within the
// deadline of the first call. Streaming calls (Events, ContainerLogs,
// ContainerAttach, ContainerStats, the progress of ImagePull) are bounded
// only until the engine answers; what follows is their caller's to end.
// Calls berth does not make pass through unbounded.
func WithDeadlinesOf(api client.APIClient, d Deadlines) client.APIClient {
	def := DefaultDeadlines()
	for _, f := range []struct{ field, def *time.Duration }{
		{&d.Query, &def.Query}, {&d.Change, &def.Change}, {&d.StopMargin, &def.StopMargin},
		{&d.Image, &def.Image}, {&d.Connect, &def.Connect},
	} {
		if *f.field <= 0 {
			*f.field = *f.def
		}
	}
	if w, ok := api.(*deadlineClient); ok {
		api = w.APIClient
	}
	return &deadlineClient{APIClient: api, d: d}
}

// deadlineClient is the engine's client with deadlines. The methods it
// does not define are the embedded client's.
type deadlineClient struct {
	client.APIClient
	d Deadlines
	// negotiated is set once the engine has answered a ping and the
	// client has its API version.
	negotiated atomic.Bool
}

// negotiate has the client settle its API version, within ctx. The
// client would otherwise ping the engine from inside the first call, under
// a lock every other call waits for, as long as that call's context
// allows: a stream's, unbounded. An engine that answers the ping with an
// error is left to the call to report.
func (c *deadlineClient) negotiate(ctx context.Context) error {
	if c.negotiated.Load() {
		return nil
	}
	ping, err := c.APIClient.Ping(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return nil
	}
	c.APIClient.NegotiateAPIVersionPing(ping)
	c.negotiated.Store(true)
	return nil
}

// bounded runs do, a call that is over once the engine has answered, with
// limit as its deadline.
func bounded[T any](c *deadlineClient, ctx context.Context, call string, limit time.Duration, do func(context.Context) (T, error)) (T, error) {
	callCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var v T
	err := c.negotiate(callCtx)
	if err == nil {
		v, err = do(callCtx)
	}
	if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		err = &DeadlineError{Call: call, Deadline: limit, Err: err}
	}
	return v, err
}

// bounded0 is bounded for a call that returns only an error.
func bounded0(c *deadlineClient, ctx context.Context, call string, limit time.Duration, do func(context.Context) error) error {
	_, err := bounded(c, ctx, call, limit, func(ctx context.Context) (struct{}, error) { return struct{}{}, do(ctx) })
	return err
}

// connect runs do, a call whose answer is a stream, with limit on the
// wait for the engine's answer. The stream's context is ctx's child: the
// returned release ends it, and the stream's Close must call it. On error
// a stream do returned must be closed by the caller.
func (c *deadlineClient) connect(ctx context.Context, call string, limit time.Duration, do func(context.Context) error) (release context.CancelFunc, err error) {
	streamCtx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(limit, cancel)
	err = c.negotiate(streamCtx)
	if err == nil {
		err = do(streamCtx)
	}
	if timer.Stop() {
		if err != nil {
			cancel()
			return nil, err
		}
		return cancel, nil
	}
	cancel()
	if ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	if err == nil {
		err = context.Canceled
	}
	return nil, &DeadlineError{Call: call, Deadline: limit, Err: err}
}

// stopLimit is the deadline of a stop: the time the engine waits before it
// kills the container, and the margin.
func (c *deadlineClient) stopLimit(opts container.StopOptions) time.Duration {
	wait := maxStopTimeout
	if opts.Timeout != nil && *opts.Timeout >= 0 {
		wait = time.Duration(*opts.Timeout) * time.Second
	}
	return wait + c.d.StopMargin
}

// releasingReader ends a stream's context when the stream is closed.
type releasingReader struct {
	io.ReadCloser
	release context.CancelFunc
}

func (r *releasingReader) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}

// releasingConn ends a hijacked connection's context when it is closed.
type releasingConn struct {
	net.Conn
	release context.CancelFunc
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// streamReader runs a call that answers with a body.
func (c *deadlineClient) streamReader(ctx context.Context, call string, limit time.Duration, do func(context.Context) (io.ReadCloser, error)) (io.ReadCloser, error) {
	var body io.ReadCloser
	release, err := c.connect(ctx, call, limit, func(ctx context.Context) error {
		var err error
		body, err = do(ctx)
		return err
	})
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return &releasingReader{ReadCloser: body, release: release}, nil
}

// Queries.

func (c *deadlineClient) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	return bounded(c, ctx, "ContainerInspect", c.d.Query, func(ctx context.Context) (container.InspectResponse, error) {
		return c.APIClient.ContainerInspect(ctx, id)
	})
}

func (c *deadlineClient) ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error) {
	return bounded(c, ctx, "ContainerList", c.d.Query, func(ctx context.Context) ([]container.Summary, error) {
		return c.APIClient.ContainerList(ctx, opts)
	})
}

func (c *deadlineClient) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error) {
	return bounded(c, ctx, "ImageInspect", c.d.Query, func(ctx context.Context) (image.InspectResponse, error) {
		return c.APIClient.ImageInspect(ctx, ref, opts...)
	})
}

func (c *deadlineClient) ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error) {
	return bounded(c, ctx, "ImageList", c.d.Query, func(ctx context.Context) ([]image.Summary, error) {
		return c.APIClient.ImageList(ctx, opts)
	})
}

func (c *deadlineClient) NetworkInspect(ctx context.Context, id string, opts network.InspectOptions) (network.Inspect, error) {
	return bounded(c, ctx, "NetworkInspect", c.d.Query, func(ctx context.Context) (network.Inspect, error) {
		return c.APIClient.NetworkInspect(ctx, id, opts)
	})
}

func (c *deadlineClient) NetworkList(ctx context.Context, opts network.ListOptions) ([]network.Summary, error) {
	return bounded(c, ctx, "NetworkList", c.d.Query, func(ctx context.Context) ([]network.Summary, error) {
		return c.APIClient.NetworkList(ctx, opts)
	})
}

func (c *deadlineClient) VolumeInspect(ctx context.Context, id string) (volume.Volume, error) {
	return bounded(c, ctx, "VolumeInspect", c.d.Query, func(ctx context.Context) (volume.Volume, error) {
		return c.APIClient.VolumeInspect(ctx, id)
	})
}

func (c *deadlineClient) VolumeList(ctx context.Context, opts volume.ListOptions) (volume.ListResponse, error) {
	return bounded(c, ctx, "VolumeList", c.d.Query, func(ctx context.Context) (volume.ListResponse, error) {
		return c.APIClient.VolumeList(ctx, opts)
	})
}

func (c *deadlineClient) Info(ctx context.Context) (system.Info, error) {
	return bounded(c, ctx, "Info", c.d.Query, c.APIClient.Info)
}

func (c *deadlineClient) ServerVersion(ctx context.Context) (types.Version, error) {
	return bounded(c, ctx, "ServerVersion", c.d.Query, c.APIClient.ServerVersion)
}

// Ping needs no negotiated version: it is the negotiation's own call.
func (c *deadlineClient) Ping(ctx context.Context) (types.Ping, error) {
	callCtx, cancel := context.WithTimeout(ctx, c.d.Query)
	defer cancel()
	ping, err := c.APIClient.Ping(callCtx)
	if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		err = &DeadlineError{Call: "Ping", Deadline: c.d.Query, Err: err}
	}
	return ping, err
}

func (c *deadlineClient) NegotiateAPIVersion(ctx context.Context) {
	callCtx, cancel := context.WithTimeout(ctx, c.d.Query)
	defer cancel()
	_ = c.negotiate(callCtx)
}

// Changes.

func (c *deadlineClient) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	return bounded(c, ctx, "ContainerCreate", c.d.Change, func(ctx context.Context) (container.CreateResponse, error) {
		return c.APIClient.ContainerCreate(ctx, cfg, host, netCfg, platform, name)
	})
}

func (c *deadlineClient) ContainerStart(ctx context.Context, id string, opts container.StartOptions) error {
	return bounded0(c, ctx, "ContainerStart", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.ContainerStart(ctx, id, opts)
	})
}

func (c *deadlineClient) ContainerStop(ctx context.Context, id string, opts container.StopOptions) error {
	return bounded0(c, ctx, "ContainerStop", c.stopLimit(opts), func(ctx context.Context) error {
		return c.APIClient.ContainerStop(ctx, id, opts)
	})
}

func (c *deadlineClient) ContainerRestart(ctx context.Context, id string, opts container.StopOptions) error {
	return bounded0(c, ctx, "ContainerRestart", c.stopLimit(opts)+c.d.Change, func(ctx context.Context) error {
		return c.APIClient.ContainerRestart(ctx, id, opts)
	})
}

func (c *deadlineClient) ContainerKill(ctx context.Context, id, signal string) error {
	return bounded0(c, ctx, "ContainerKill", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.ContainerKill(ctx, id, signal)
	})
}

func (c *deadlineClient) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	return bounded0(c, ctx, "ContainerRemove", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.ContainerRemove(ctx, id, opts)
	})
}

func (c *deadlineClient) NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	return bounded(c, ctx, "NetworkCreate", c.d.Change, func(ctx context.Context) (network.CreateResponse, error) {
		return c.APIClient.NetworkCreate(ctx, name, opts)
	})
}

func (c *deadlineClient) NetworkRemove(ctx context.Context, id string) error {
	return bounded0(c, ctx, "NetworkRemove", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.NetworkRemove(ctx, id)
	})
}

func (c *deadlineClient) NetworkConnect(ctx context.Context, networkID, containerID string, settings *network.EndpointSettings) error {
	return bounded0(c, ctx, "NetworkConnect", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.NetworkConnect(ctx, networkID, containerID, settings)
	})
}

func (c *deadlineClient) NetworkDisconnect(ctx context.Context, networkID, containerID string, force bool) error {
	return bounded0(c, ctx, "NetworkDisconnect", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.NetworkDisconnect(ctx, networkID, containerID, force)
	})
}

func (c *deadlineClient) VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error) {
	return bounded(c, ctx, "VolumeCreate", c.d.Change, func(ctx context.Context) (volume.Volume, error) {
		return c.APIClient.VolumeCreate(ctx, opts)
	})
}

func (c *deadlineClient) VolumeRemove(ctx context.Context, id string, force bool) error {
	return bounded0(c, ctx, "VolumeRemove", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.VolumeRemove(ctx, id, force)
	})
}

func (c *deadlineClient) ContainersPrune(ctx context.Context, f filters.Args) (container.PruneReport, error) {
	return bounded(c, ctx, "ContainersPrune", c.d.Change, func(ctx context.Context) (container.PruneReport, error) {
		return c.APIClient.ContainersPrune(ctx, f)
	})
}

// Images.

func (c *deadlineClient) ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error) {
	return bounded(c, ctx, "ImageRemove", c.d.Image, func(ctx context.Context) ([]image.DeleteResponse, error) {
		return c.APIClient.ImageRemove(ctx, ref, opts)
	})
}

func (c *deadlineClient) ImageTag(ctx context.Context, source, target string) error {
	return bounded0(c, ctx, "ImageTag", c.d.Change, func(ctx context.Context) error {
		return c.APIClient.ImageTag(ctx, source, target)
	})
}

// ImageLoad is answered once the engine has read and loaded the whole
// image: the deadline covers that, and the answer's body is its caller's.
func (c *deadlineClient) ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (image.LoadResponse, error) {
	var resp image.LoadResponse
	release, err := c.connect(ctx, "ImageLoad", c.d.Image, func(ctx context.Context) error {
		var err error
		resp, err = c.APIClient.ImageLoad(ctx, input, opts...)
		return err
	})
	if err != nil {
		if resp.Body != nil {
			resp.Body.Close()
		}
		return image.LoadResponse{}, err
	}
	resp.Body = &releasingReader{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// ImagePull's answer streams the pull's progress, which the caller reads
// for as long as its context allows.
func (c *deadlineClient) ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	return c.streamReader(ctx, "ImagePull", c.d.Image, func(ctx context.Context) (io.ReadCloser, error) {
		return c.APIClient.ImagePull(ctx, ref, opts)
	})
}

// Streams.

func (c *deadlineClient) ContainerLogs(ctx context.Context, id string, opts container.LogsOptions) (io.ReadCloser, error) {
	return c.streamReader(ctx, "ContainerLogs", c.d.Connect, func(ctx context.Context) (io.ReadCloser, error) {
		return c.APIClient.ContainerLogs(ctx, id, opts)
	})
}

func (c *deadlineClient) ContainerStats(ctx context.Context, id string, stream bool) (container.StatsResponseReader, error) {
	return c.stats(ctx, "ContainerStats", func(ctx context.Context) (container.StatsResponseReader, error) {
		return c.APIClient.ContainerStats(ctx, id, stream)
	})
}

func (c *deadlineClient) ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error) {
	return c.stats(ctx, "ContainerStatsOneShot", func(ctx context.Context) (container.StatsResponseReader, error) {
		return c.APIClient.ContainerStatsOneShot(ctx, id)
	})
}

func (c *deadlineClient) stats(ctx context.Context, call string, do func(context.Context) (container.StatsResponseReader, error)) (container.StatsResponseReader, error) {
	var resp container.StatsResponseReader
	body, err := c.streamReader(ctx, call, c.d.Connect, func(ctx context.Context) (io.ReadCloser, error) {
		var err error
		resp, err = do(ctx)
		return resp.Body, err
	})
	if err != nil {
		return container.StatsResponseReader{}, err
	}
	resp.Body = body
	return resp, nil
}

func (c *deadlineClient) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	var resp types.HijackedResponse
	release, err := c.connect(ctx, "ContainerAttach", c.d.Connect, func(ctx context.Context) error {
		var err error
		resp, err = c.APIClient.ContainerAttach(ctx, id, opts)
		return err
	})
	if err != nil {
		if resp.Conn != nil {
			resp.Close()
		}
		return types.HijackedResponse{}, err
	}
	resp.Conn = &releasingConn{Conn: resp.Conn, release: release}
	return resp, nil
}

// Events bounds the wait for the engine to answer a ping before it
// follows the events: the engine answers the events call itself only with
// the first event, which may be long in coming.
func (c *deadlineClient) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	pingCtx, cancel := context.WithTimeout(ctx, c.d.Connect)
	defer cancel()
	ping, err := c.APIClient.Ping(pingCtx)
	if err != nil && ctx.Err() == nil && errors.Is(pingCtx.Err(), context.DeadlineExceeded) {
		errs := make(chan error, 1)
		errs <- &DeadlineError{Call: "Events", Deadline: c.d.Connect, Err: err}
		return make(chan events.Message), errs
	}
	if err == nil && !c.negotiated.Load() {
		c.APIClient.NegotiateAPIVersionPing(ping)
		c.negotiated.Store(true)
	}
	return c.APIClient.Events(ctx, opts)
}
