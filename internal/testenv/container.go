package testenv

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// StartContainer creates and starts a container of cfg and host, labelled
// for removal when the test ends, and returns its ID.
func StartContainer(t testing.TB, api client.APIClient, cfg *container.Config, host *container.HostConfig) string {
	t.Helper()
	key, value := Label(t, api)
	c := *cfg
	c.Labels = map[string]string{key: value}
	for k, v := range cfg.Labels {
		c.Labels[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := api.ContainerCreate(ctx, &c, host, nil, nil, "")
	if err != nil {
		t.Fatalf("create container of %s %q: %v", c.Image, c.Cmd, err)
	}
	if err := api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start container of %s %q: %v", c.Image, c.Cmd, err)
	}
	return created.ID
}

// WaitContainer waits for container id to stop and returns its exit code
// and its output, stdout and stderr interleaved as written.
func WaitContainer(t testing.TB, api client.APIClient, id string) (exitCode int64, logs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitC, errC := api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		exitCode = res.StatusCode
	case err := <-errC:
		t.Fatalf("wait for container %s: %v", id, err)
	}
	return exitCode, Logs(t, api, id)
}

// Logs returns the output of container id so far.
func Logs(t testing.TB, api client.APIClient, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs of container %s: %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("logs of container %s: %v", id, err)
	}
	return out.String()
}

// RunContainer runs a container of cfg and host to its end, like
// `docker run`, and returns its exit code and output.
func RunContainer(t testing.TB, api client.APIClient, cfg *container.Config, host *container.HostConfig) (exitCode int64, logs string) {
	t.Helper()
	return WaitContainer(t, api, StartContainer(t, api, cfg, host))
}
