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
	"time"

	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/store"
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
// them) left on the engine. The state store names each run's task and its
// owner, so a task is found even when nothing but a volume of it was made;
// the labels of what is on the engine find the rest (a store moved aside,
// an older berth). Only a task its run kept (--keep) and saw stop stays,
// until its cleanup wait has passed. It returns how many tasks it removed.
func reapOrphans(ctx context.Context, docker client.APIClient) (int, error) {
	removed, err := reapRecordedRuns(ctx, docker)
	errs := []error{err}
	instances, err := agent.Instances(ctx, docker)
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, ref := range instances {
		if !runGone(ref.Instance) {
			continue
		}
		n, err := agent.Reap(ctx, agent.Config{Docker: docker, Cluster: ref.Cluster, Instance: ref.Instance})
		removed += n
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// reapRecordedRuns removes the tasks the store records for berth runs that
// are gone, and then their records.
func reapRecordedRuns(ctx context.Context, docker client.APIClient) (int, error) {
	var runs []store.Run
	if err := withStore(ctx, func(st *store.Store) error {
		var err error
		runs, err = st.Runs()
		return err
	}); err != nil {
		return 0, err
	}
	var reaped []string
	var errs []error
	for _, r := range runs {
		if !runGone(r.Owner) {
			continue
		}
		if r.Keep && r.StoppedAt != nil && time.Since(*r.StoppedAt) < agent.DefaultCleanupWait {
			continue
		}
		if err := agent.ReapTask(ctx, agent.Config{Docker: docker, Cluster: r.Cluster, Instance: r.Owner}, r.ARN); err != nil {
			errs = append(errs, err)
			continue
		}
		reaped = append(reaped, r.ARN)
	}
	if len(reaped) > 0 {
		errs = append(errs, withStore(ctx, func(st *store.Store) error { return st.DeleteRuns(reaped...) }))
	}
	return len(reaped), errors.Join(errs...)
}

// runGone reports whether instance names a berth run process of this host
// that is gone for good: the machine has restarted since, or the process
// has ended. A berth run on another host sharing the engine or the store is
// never judged from here.
func runGone(instance string) bool {
	parts := strings.Split(strings.TrimPrefix(instance, runInstancePrefix), "/")
	if !strings.HasPrefix(instance, runInstancePrefix) || len(parts) != 3 {
		return false
	}
	host, boot := hostIdentity()
	if parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[2])
	if err != nil {
		return false
	}
	return parts[1] != boot || pid != os.Getpid() && !berthRunAlive(pid)
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
