package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/logstore"
)

// berth's own endpoints answer a stream, one JSON object a line:
//
//	Client.Logs   ─► GET ENDPOINT/berth/v1/tasks/{taskID}/logs?container=&since=&follow=1
//	Client.Events ─► GET ENDPOINT/berth/v1/events?cluster=&since=&follow=1
//	    200 application/x-ndjson ─► each line decoded, handed to each
//	    4xx/5xx {"__type", "message"} ─► *api.Error (404 for an unknown task)

// LogLine is one line of a container's output, as the server keeps it.
type LogLine = logstore.Line

// LogsOptions says which of a task's output Logs reads.
type LogsOptions struct {
	// Cluster narrows the search for the task; empty finds it in any.
	Cluster string
	// Container reads one container's output; empty reads every one's,
	// merged by time.
	Container string
	// Since skips the lines before it; zero skips none.
	Since time.Time
	// Follow goes on with new lines until the task has STOPPED and all
	// its output is read.
	Follow bool
}

// Logs hands each with every line kept of a task's output (task is its ID
// or ARN), oldest first, then, with Follow, each new line as its container
// writes it. It returns once the server has sent everything, when each
// fails (with that error) or when ctx ends (with ctx's error). A task the
// server does not hold is an *api.Error of type ResourceNotFoundException.
func (c *Client) Logs(ctx context.Context, task string, opts LogsOptions, each func(LogLine) error) error {
	if _, id, err := api.TaskRef(task); err == nil {
		task = id
	}
	q := url.Values{}
	if opts.Cluster != "" {
		q.Set("cluster", opts.Cluster)
	}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	return stream(ctx, c, "/berth/v1/tasks/"+url.PathEscape(task)+"/logs", q, opts.Since, opts.Follow, each)
}

// EventsOptions says which events Events reads.
type EventsOptions struct {
	// Cluster reads one cluster's events (its name or ARN); empty reads
	// every cluster's. A cluster the server does not have is an
	// *api.Error of type ClusterNotFoundException.
	Cluster string
	// Since skips the events before it; zero skips none of those the
	// server keeps.
	Since time.Time
	// Follow goes on with each new event until ctx ends.
	Follow bool
}

// Events hands each with every event the server keeps of the changes of
// tasks and container instances, oldest first, then, with Follow, each new
// one as it happens. It returns as Logs does.
func (c *Client) Events(ctx context.Context, opts EventsOptions, each func(api.Event) error) error {
	q := url.Values{}
	if opts.Cluster != "" {
		q.Set("cluster", opts.Cluster)
	}
	return stream(ctx, c, "/berth/v1/events", q, opts.Since, opts.Follow, each)
}

// stream reads an NDJSON answer, one T a line.
func stream[T any](ctx context.Context, c *Client, path string, q url.Values, since time.Time, follow bool, each func(T) error) error {
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if follow {
		q.Set("follow", "1")
	}
	u := c.endpoint + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// A stream lasts as long as the task or the follower: no timeout but
	// ctx's.
	resp, err := c.streams.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnreachableError{Endpoint: c.endpoint, Err: errors.Unwrap(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return answerError(resp.StatusCode, answer)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxAnswer)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("GET %s: a line of the answer does not read: %w", path, err)
		}
		if err := each(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return ctx.Err()
}
