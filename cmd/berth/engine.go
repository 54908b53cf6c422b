package main

import (
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/client"
	"github.com/moby/term"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/internal/dockerhost"
)

// dockerClient connects to the engine the environment names (DOCKER_HOST
// and friends, as the Docker CLI reads them: unix, tcp with TLS, ssh),
// negotiating the API version so engines back to API 1.41 work. Every
// call it makes has a deadline (engine.WithDeadlines): an engine that
// accepts connections and never answers cannot hang berth.
func dockerClient() (client.APIClient, error) {
	api, err := dockerhost.New()
	if err != nil {
		return nil, fmt.Errorf("connect to the Docker engine: %w", err)
	}
	return engine.WithDeadlines(api), nil
}

// isTerminal reports whether w is a terminal, where colour and progress
// lines are welcome.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
