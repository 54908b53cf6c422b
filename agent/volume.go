package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/agent/dockerspec"
	"github.com/berthdev/berth/taskdef"
)

// setupVolumes makes the task's volumes and returns what each one mounts.
//
//	host.sourcePath            the host path itself
//	host, no sourcePath        a Docker volume for this task, removed with it
//	dockerVolume, scope task   a Docker volume for this task, removed with it
//	dockerVolume, scope shared the Docker volume named like the task volume,
//	                           made when autoprovision allows, kept after
//	efsVolume                  a local Docker volume per file system and root
//	                           directory, kept after (a warning says so)
func (t *task) setupVolumes(ctx context.Context) (map[string]dockerspec.MountSource, error) {
	out := map[string]dockerspec.MountSource{}
	for _, v := range t.def().Volumes {
		src, err := t.setupVolume(ctx, &v)
		if err != nil {
			return nil, engineErr(ResourceInitializationError, "volume %s: %w", v.Name, err)
		}
		out[v.Name] = src
	}
	return out, nil
}

func (t *task) setupVolume(ctx context.Context, v *taskdef.Volume) (dockerspec.MountSource, error) {
	switch {
	case v.Host != nil && v.Host.SourcePath != "":
		return dockerspec.MountSource{Source: v.Host.SourcePath}, nil
	case v.Host != nil:
		name, err := t.createVolume(ctx, taskVolumeName(t.id, v.Name), "local", nil, nil, "task")
		return dockerspec.MountSource{Source: name, NoCopy: true}, err
	case v.DockerVolumeConfiguration != nil:
		dv := v.DockerVolumeConfiguration
		if dv.Scope == "shared" {
			return t.sharedVolume(ctx, v.Name, dv)
		}
		name, err := t.createVolume(ctx, taskVolumeName(t.id, v.Name), dv.Driver, dv.DriverOpts, dv.Labels, "task")
		return dockerspec.MountSource{Source: name}, err
	case v.EFSVolumeConfiguration != nil:
		efs := v.EFSVolumeConfiguration
		name := efsVolumeName(efs.FileSystemID, efs.RootDirectory)
		if _, err := t.a.docker.VolumeInspect(ctx, name); cerrdefs.IsNotFound(err) {
			if _, err := t.createVolume(ctx, name, "local", nil, map[string]string{"berth.efs.file-system-id": efs.FileSystemID, "berth.efs.root-directory": efs.RootDirectory}, "efs"); err != nil {
				return dockerspec.MountSource{}, err
			}
		} else if err != nil {
			return dockerspec.MountSource{}, fmt.Errorf("inspect volume %s: %w", name, err)
		}
		t.warn(fmt.Sprintf("volume %s: EFS file system %s is emulated by the local Docker volume %s; its data stays on this engine", v.Name, efs.FileSystemID, name))
		return dockerspec.MountSource{Source: name}, nil
	case v.FSxWindowsFileServerVolumeConfiguration != nil:
		return dockerspec.MountSource{}, errors.New("fsxWindowsFileServerVolumeConfiguration needs Windows containers, which berth does not run")
	}
	return dockerspec.MountSource{}, errors.New("the volume has no configuration")
}

// sharedVolume returns a shared-scope Docker volume, creating it when
// autoprovision allows. An existing volume must use the same driver.
func (t *task) sharedVolume(ctx context.Context, name string, dv *taskdef.DockerVolumeConfiguration) (dockerspec.MountSource, error) {
	existing, err := t.a.docker.VolumeInspect(ctx, name)
	switch {
	case err == nil:
		if existing.Driver != dv.Driver {
			return dockerspec.MountSource{}, fmt.Errorf("the shared volume exists with driver %s, not %s", existing.Driver, dv.Driver)
		}
		return dockerspec.MountSource{Source: name}, nil
	case !cerrdefs.IsNotFound(err):
		return dockerspec.MountSource{}, fmt.Errorf("inspect volume: %w", err)
	case dv.Autoprovision == nil || !*dv.Autoprovision:
		return dockerspec.MountSource{}, errors.New("the shared volume does not exist and autoprovision is false")
	}
	_, err = t.createVolume(ctx, name, dv.Driver, dv.DriverOpts, dv.Labels, "shared")
	return dockerspec.MountSource{Source: name}, err
}

func (t *task) createVolume(ctx context.Context, name, driver string, opts, userLabels map[string]string, scope string) (string, error) {
	arn := ""
	if scope == "task" {
		arn = t.arn
	}
	labels := resourceLabels(t.agentLabels, scope, arn)
	for k, v := range userLabels {
		if _, ours := labels[k]; !ours {
			labels[k] = v
		}
	}
	if scope == "task" {
		labels[LabelCluster] = t.record.Cluster
	}
	_, err := t.a.docker.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: driver, DriverOpts: opts, Labels: labels})
	if err != nil {
		return "", fmt.Errorf("create volume %s: %w", name, err)
	}
	return name, nil
}

// removeTaskVolumes removes the volumes made for the task alone.
func (a *Agent) removeTaskVolumes(ctx context.Context, arn string) error {
	list, err := a.docker.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", LabelTaskARN+"="+arn),
		filters.Arg("label", labelScope+"=task"),
	)})
	if err != nil {
		return fmt.Errorf("list task volumes: %w", err)
	}
	var errs []error
	for _, v := range list.Volumes {
		if err := a.docker.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// taskVolumeName names a volume made for one task: ecs-TASKID-VOLUME.
func taskVolumeName(taskID, volume string) string {
	return "ecs-" + taskID + "-" + volume
}

// efsVolumeName names the local volume standing in for an EFS file system
// and root directory. The hash keeps distinct directories apart whatever
// characters they use.
func efsVolumeName(fsID, root string) string {
	root = "/" + strings.Trim(root, "/")
	sum := sha256.Sum256([]byte(fsID + ":" + root))
	return "berth-efs-" + fsID + "-" + hex.EncodeToString(sum[:4])
}
