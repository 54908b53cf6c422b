package agent

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs returns the engine's stored logs of one container of a task, stdout
// and stderr interleaved, following them while follow is set until the
// container stops or the reader is closed. Every container logs through a
// driver Docker can read back (see logConfig), so this works whatever
// driver the definition names; but the driver keeps what its options say
// (json-file max-size and max-file rotate the oldest away, even under a
// reader that follows), so a caller that needs every line from the first
// takes it from TaskSpec.Output instead.
func (a *Agent) Logs(ctx context.Context, arn, containerName string, follow bool) (io.ReadCloser, error) {
	t, err := a.find(arn)
	if err != nil {
		return nil, err
	}
	st := t.snapshotState()
	c, ok := st.Container(containerName)
	if !ok {
		return nil, fmt.Errorf("task %s has no container named %q", t.id, containerName)
	}
	if c.DockerID == "" {
		return nil, fmt.Errorf("container %s of task %s has not been created yet", containerName, t.id)
	}
	rc, err := a.docker.ContainerLogs(ctx, c.DockerID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", containerName, err)
	}
	if d := t.record.Definition.Container(containerName); d != nil && boolOf(d.PseudoTerminal) {
		return rc, nil // a TTY's output is not multiplexed
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
	}()
	return &logReader{PipeReader: pr, body: rc}, nil
}

// logReader closes the engine's stream along with the pipe, which ends a
// follow.
type logReader struct {
	*io.PipeReader
	body io.Closer
}

func (r *logReader) Close() error {
	r.body.Close()
	return r.PipeReader.Close()
}
