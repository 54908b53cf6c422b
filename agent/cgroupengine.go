package agent

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/images"
)

// A berth that may use the engine but not write the host's cgroups (a
// member of the docker group, not root) has the engine make and remove its
// task cgroups: it runs `berth cgroup create|remove` (CreateTaskCgroup,
// RemoveTaskCgroups), and those of container instances' slices `berth
// cgroup create-slice|remove-slice` (CreateSliceCgroup, RemoveSliceCgroup), in a short-lived container of its own pause image,
// which holds the berth binary, with the host's cgroup root bind-mounted
// read-write. That asks for nothing the Docker socket does not already
// give: the container runs as the engine's root, the one who owns the
// cgroup files.
//
//	agent ── create ─ attach ─ wait(removed) ─ start ── exit 0: done
//	                                                 └─ exit ≠ 0, deadline: its stderr is the error,
//	                                                    the container is removed

// cgroupHelperRoot is where the helper container sees the host's cgroup
// root. It is not /sys/fs/cgroup, which the engine mounts read-only there.
const cgroupHelperRoot = "/host/sys/fs/cgroup"

// cgroupHelperDeadline bounds one run of the helper container, from its
// create to its removal.
const cgroupHelperDeadline = 30 * time.Second

// scopeCgroup is the berth.scope of a helper container.
const scopeCgroup = "cgroup"

// createThroughEngine makes the task cgroup from a helper container.
func (a *Agent) createThroughEngine(ctx context.Context, taskID string, cpu, memoryMiB int) error {
	return a.runCgroupHelper(ctx, "create",
		"--cpu", strconv.Itoa(cpu), "--memory", strconv.Itoa(memoryMiB), taskID)
}

// removeThroughEngine removes task cgroups from a helper container.
func (a *Agent) removeThroughEngine(ctx context.Context, taskIDs ...string) error {
	return a.runCgroupHelper(ctx, "remove", taskIDs...)
}

// runCgroupHelper runs `berth cgroup VERB --root R --version V ARGS...` in
// a helper container and waits for it to end and go. Its standard error
// is the error when it fails. Whatever goes wrong, the container is
// removed: the engine removes it when it exits, and berth when it does not
// get that far.
func (a *Agent) runCgroupHelper(ctx context.Context, verb string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cgroupHelperDeadline)
	defer cancel()
	cmd := []string{"cgroup", verb, "--root", cgroupHelperRoot, "--version", strconv.Itoa(a.cgroups.Version)}
	if a.cgroups.Base != "" && a.cfg.Slice != nil {
		cmd = append(cmd, "--slice", a.cfg.Slice.Name)
	}
	cmd = append(cmd, args...)
	cfg := &container.Config{
		Entrypoint:   []string{"/berth"},
		Cmd:          cmd,
		Labels:       resourceLabels(a.cfg.Labels, scopeCgroup, ""),
		AttachStdout: true,
		AttachStderr: true,
	}
	host := &container.HostConfig{
		AutoRemove:  true,
		NetworkMode: container.NetworkMode("none"),
		// The host's root owns the cgroup files; an engine that remaps its
		// containers' users would make the helper's root nobody there.
		UsernsMode: "host",
		LogConfig:  container.LogConfig{Type: "json-file"},
		Mounts: []mount.Mount{{
			Type:   mount.TypeBind,
			Source: a.cgroups.Root,
			Target: cgroupHelperRoot,
		}},
	}
	created, err := a.createCgroupHelper(ctx, cfg, host)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer rcancel()
			a.removeContainer(rctx, created.ID)
		}
	}()
	out, exit, err := a.runAttached(ctx, created.ID)
	if err != nil {
		return err
	}
	done = true
	if exit != 0 {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "berth: "))
		return fmt.Errorf("berth %s exited %d in its container: %s", strings.Join(cmd[:2], " "), exit, msg)
	}
	return nil
}

// createCgroupHelper creates the helper container from the pause image
// built from this berth's binary. Another berth on the engine, of another
// version, may tag its own build as the pause image at any time, and
// remove the one it replaces: the container is made from the image's ID,
// which holds it, and made again should the image go first.
func (a *Agent) createCgroupHelper(ctx context.Context, cfg *container.Config, host *container.HostConfig) (container.CreateResponse, error) {
	for attempt := 1; ; attempt++ {
		id, err := a.currentPauseImage(ctx)
		if err != nil {
			return container.CreateResponse{}, err
		}
		cfg.Image = id
		created, err := a.docker.ContainerCreate(ctx, cfg, host, nil, nil, "berth-cgroup-"+randHex(6))
		if err == nil {
			return created, nil
		}
		if !cerrdefs.IsNotFound(err) || attempt == cgroupHelperAttempts {
			return container.CreateResponse{}, fmt.Errorf("create the cgroup container: %w", err)
		}
	}
}

// cgroupHelperAttempts is how many times the helper container is made
// from a pause image another berth's build replaces meanwhile.
const cgroupHelperAttempts = 3

// currentPauseImage returns the ID of the pause image built from this
// berth's binary, building it if need be.
func (a *Agent) currentPauseImage(ctx context.Context) (string, error) {
	for attempt := 1; ; attempt++ {
		if err := a.ensureImage(ctx, images.PauseRef); err != nil {
			return "", fmt.Errorf("build the image of the cgroup container: %w", err)
		}
		infos, err := images.ListFrom(ctx, a.docker, a.binaryPath)
		if err != nil {
			return "", fmt.Errorf("find the image of the cgroup container: %w", err)
		}
		for _, info := range infos {
			if info.Ref == images.PauseRef && !info.Stale() {
				return info.ID, nil
			}
		}
		if attempt == cgroupHelperAttempts {
			return "", fmt.Errorf("find the image of the cgroup container: %s is rebuilt from another berth binary as fast as it is built", images.PauseRef)
		}
	}
}

// sweepCgroupHelpers removes the helper containers, carrying the agent's
// labels, that were created more than olderThan ago and never started: an
// agent that died between their create and their start left them, and only
// a container that exits removes itself.
func (a *Agent) sweepCgroupHelpers(ctx context.Context, olderThan time.Duration) {
	f := filters.NewArgs(filters.Arg("status", "created"))
	for k, v := range resourceLabels(a.cfg.Labels, scopeCgroup, "") {
		f.Add("label", k+"="+v)
	}
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		a.cfg.Logf("list the cgroup containers left behind: %v", err)
		return
	}
	for _, c := range list {
		if time.Since(time.Unix(c.Created, 0)) > olderThan {
			a.removeContainer(ctx, c.ID)
		}
	}
}

// runAttached starts the created container id, which removes itself when
// it exits, and returns its output and exit code once it is gone.
func (a *Agent) runAttached(ctx context.Context, id string) (string, int64, error) {
	attach, err := a.docker.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return "", 0, fmt.Errorf("attach to the cgroup container: %w", err)
	}
	defer attach.Close()
	// Asked for before the start, so that the container's removal cannot
	// come first.
	waited, waitErr := a.docker.ContainerWait(ctx, id, container.WaitConditionRemoved)
	if err := a.docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return "", 0, fmt.Errorf("start the cgroup container: %w", err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(&out, &out, attach.Reader)
	}()
	select {
	case res := <-waited:
		if res.Error != nil {
			return "", 0, fmt.Errorf("wait for the cgroup container: %s", res.Error.Message)
		}
		select {
		case <-copied:
		case <-ctx.Done():
			return "", 0, fmt.Errorf("read the cgroup container's output: %w", ctx.Err())
		}
		return out.String(), res.StatusCode, nil
	case err := <-waitErr:
		return "", 0, fmt.Errorf("wait for the cgroup container: %w", err)
	}
}
