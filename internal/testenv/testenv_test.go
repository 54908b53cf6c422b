package testenv

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/images"
)

func TestMain(m *testing.M) { Main(m) }

func TestBerthBinaryIsBuiltOnceAndRuns(t *testing.T) {
	first, second := BerthBinary(t), BerthBinary(t)
	if first != second {
		t.Errorf("two calls built two binaries: %s and %s", first, second)
	}
	out, err := exec.Command(first, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "berth ") {
		t.Errorf("%s version = %q, %v", first, out, err)
	}
}

func TestRemoveLabelledRemovesContainersNetworksAndVolumes(t *testing.T) {
	api := Docker(t)
	EnsureImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, value := Label(t, api)
	labels := map[string]string{key: value}

	vol, err := api.VolumeCreate(ctx, volume.CreateOptions{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	net, err := api.NetworkCreate(ctx, "berth-testenv-"+value, network.CreateOptions{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.ContainerCreate(ctx,
		&container.Config{Image: images.DemoRef, Cmd: []string{"sleep", "600"}, Labels: labels},
		&container.HostConfig{NetworkMode: container.NetworkMode(net.ID), Binds: []string{vol.Name + ":/data"}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}

	if err := RemoveLabelled(ctx, api, key+"="+value); err != nil {
		t.Fatal(err)
	}
	args := filters.NewArgs(filters.Arg("label", key+"="+value))
	containers, _ := api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	networks, _ := api.NetworkList(ctx, network.ListOptions{Filters: args})
	volumes, _ := api.VolumeList(ctx, volume.ListOptions{Filters: args})
	if len(containers)+len(networks)+len(volumes.Volumes) != 0 {
		t.Errorf("left %d containers, %d networks, %d volumes; want none", len(containers), len(networks), len(volumes.Volumes))
	}
}
