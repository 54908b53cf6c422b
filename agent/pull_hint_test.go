package agent

import (
	"context"
	"errors"
	"io"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent/engine"
)

func TestBerthImageHint(t *testing.T) {
	const (
		only     = " (berth builds only berth/pause:latest and berth/demo:latest from its own binary"
		demo     = only + "; did you mean berth/demo:latest?)"
		pause    = only + "; did you mean berth/pause:latest?)"
		noGuess  = only + ")"
		asOnECS  = ""
		someHash = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	)
	tests := []struct {
		ref, want string
	}{
		{"berth/demo:lastest", demo},
		{"berth/demo:v2", demo},
		{"berth/demo" + someHash, demo},
		{"berth/dmeo:latest", demo},
		{"berth/dmeo", demo},
		{"berth/dem", demo},
		{"berth/demos:latest", demo},
		{"berth/memo", demo},
		{"docker.io/berth/dmeo:latest", demo},
		{"index.docker.io/berth/demo:1.0", demo},
		{"berth/pasue:latest", pause},
		{"berth/paus", pause},
		{"berth/nginx:latest", noGuess},
		{"berth/deemoo", noGuess},
		{"berth/tools/demo", noGuess},
		// berth's own images are built, never pulled: a failure there is
		// not a typo.
		{"berth/demo:latest", asOnECS},
		{"berth/demo", asOnECS},
		{"docker.io/berth/pause:latest", asOnECS},
		// Images outside berth/ fail as on ECS.
		{"nginx:latest", asOnECS},
		{"docker.io/library/nginx", asOnECS},
		{"berthdemo:latest", asOnECS},
		{"berth-demo", asOnECS},
		{"ghcr.io/berth/demo:latest", asOnECS},
		{"localhost:5000/berth/dmeo:latest", asOnECS},
		{"myorg/berth/demo", asOnECS},
		{"berth/", asOnECS},
		{"", asOnECS},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := berthImageHint(tt.ref); got != tt.want {
				t.Errorf("berthImageHint(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}

// offlineEngine is an engine without a network: it has no image cached
// and every pull fails the way Docker fails to reach Docker Hub.
type offlineEngine struct {
	engine.Engine // nil: any other call is a test failure by panic
}

var errOffline = errors.New("dial tcp: lookup registry-1.docker.io: no such host")

func (offlineEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{}, cerrdefs.ErrNotFound
}

func (offlineEngine) ImagePull(context.Context, string, image.PullOptions) (io.ReadCloser, error) {
	return nil, errOffline
}

// A failed pull keeps ECS's reason, with the hint after it only for a
// mistyped berth image, and still wraps the engine's error.
func TestPullFailureAppendsTheHintToECSReason(t *testing.T) {
	tests := []struct {
		ref, want string
	}{
		{"berth/demo:lastest", "CannotPullContainerError: pull image berth/demo:lastest: " + errOffline.Error() +
			" (berth builds only berth/pause:latest and berth/demo:latest from its own binary; did you mean berth/demo:latest?)"},
		{"nginx:latest", "CannotPullContainerError: pull image nginx:latest: " + errOffline.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			p := &puller{a: &Agent{docker: offlineEngine{}}, pulled: map[string]bool{}}
			_, err := p.ensure(t.Context(), tt.ref, PullDefault)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ensure(%s) = %v, want %q", tt.ref, err, tt.want)
			}
			if ErrorNameOf(err) != CannotPullContainerError || !errors.Is(err, errOffline) {
				t.Errorf("error %v lost its name or its cause", err)
			}
		})
	}
}
