package testenv

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// RemoveLabelled removes every container, network and volume on the engine
// that carries label ("key" or "key=value"), containers first since they
// hold the others. Something already gone is not an error.
func RemoveLabelled(ctx context.Context, api client.APIClient, label string) error {
	args := filters.NewArgs(filters.Arg("label", label))
	var errs []error
	gone := func(err error) bool { return err == nil || cerrdefs.IsNotFound(err) }

	containers, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		errs = append(errs, fmt.Errorf("list containers labelled %s: %w", label, err))
	}
	for _, c := range containers {
		if err := api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); !gone(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID, err))
		}
	}

	networks, err := api.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks labelled %s: %w", label, err))
	}
	for _, n := range networks {
		if err := api.NetworkRemove(ctx, n.ID); !gone(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}

	volumes, err := api.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes labelled %s: %w", label, err))
	}
	for _, v := range volumes.Volumes {
		if err := api.VolumeRemove(ctx, v.Name, true); !gone(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}
