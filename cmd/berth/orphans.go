package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
)

// A berth run process's agent is the instance "run/HOST/BOOT/PID": the
// host and boot it runs on and its process ID. They tell a later berth run
// whether the process that owns some tasks is gone for good: on this host,
// it is when the machine has restarted since or the process has ended. A
// berth run on another host sharing the engine is never judged from here.
const runInstancePrefix = "run/"

// runInstance names this process's agent.
func runInstance() string {
	host, boot := hostIdentity()
	return runInstancePrefix + host + "/" + boot + "/" + strconv.Itoa(os.Getpid())
}

// hostIdentity is the host name and the kernel's boot ID (which changes at
// every restart).
func hostIdentity() (host, boot string) {
	host, _ = os.Hostname()
	id, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return host, strings.TrimSpace(string(id))
}

// localInstanceID is the local engine's container instance ID: 32 hex
// digits, as ECS's are, the same for every berth run on this host.
func localInstanceID() string {
	host, _ := hostIdentity()
	sum := sha256.Sum256([]byte("berth container instance " + host))
	return hex.EncodeToString(sum[:16])
}

// reapOrphans removes what berth run processes of this host that died
// without stopping their tasks (killed, or the machine restarted under
// them) left on the engine; see agent.Reap for what stays. It returns how
// many tasks it removed.
func reapOrphans(ctx context.Context, docker client.APIClient) (int, error) {
	instances, err := agent.Instances(ctx, docker)
	if err != nil {
		return 0, err
	}
	host, boot := hostIdentity()
	removed := 0
	var errs []error
	for _, ref := range instances {
		parts := strings.Split(strings.TrimPrefix(ref.Instance, runInstancePrefix), "/")
		if !strings.HasPrefix(ref.Instance, runInstancePrefix) || len(parts) != 3 || parts[0] != host {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil || parts[1] == boot && (pid == os.Getpid() || berthRunAlive(pid)) {
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
