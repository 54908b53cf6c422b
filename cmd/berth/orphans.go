package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
)

// runInstancePrefix names the agent of one berth run process: the prefix
// and the process ID. The ID tells a later berth run whether the process
// that owns the tasks is still there.
const runInstancePrefix = "run-"

func runInstance(pid int) string { return runInstancePrefix + strconv.Itoa(pid) }

// reapOrphans removes what berth run processes that died without stopping
// their tasks (killed, or the machine restarted under them) left on the
// engine: their running tasks are killed and removed, and their stopped
// ones are removed once the cleanup wait has passed (so a --keep run's task
// stays for a while). It returns how many tasks it removed.
func reapOrphans(ctx context.Context, docker client.APIClient) (int, error) {
	instances, err := agent.Instances(ctx, docker)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, ref := range instances {
		pidText, ok := strings.CutPrefix(ref.Instance, runInstancePrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || berthRunAlive(pid) {
			continue
		}
		n, err := agent.Reap(ctx, agent.Config{Docker: docker, Cluster: ref.Cluster, Instance: ref.Instance})
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// berthRunAlive reports whether pid is a running berth run process. A PID
// that some other program has taken since counts as gone.
func berthRunAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return true // no /proc to ask: assume the process is what it was
	}
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	for _, a := range args[1:] {
		if string(a) == "run" {
			return true
		}
	}
	return false
}
