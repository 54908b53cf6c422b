package main

import (
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/client"
	"github.com/moby/term"
)

// dockerClient connects to the engine the environment names (DOCKER_HOST
// and friends), negotiating the API version so engines back to API 1.41
// work.
func dockerClient() (*client.Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("connect to the Docker engine: %w", err)
	}
	return api, nil
}

// isTerminal reports whether w is a terminal, where colour and progress
// lines are welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
