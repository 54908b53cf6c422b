package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// vpcNetwork is the network a berth server's Fargate tasks get their
// addresses on; one server at a time may run tasks there on an engine.
const vpcNetwork = "berth-vpc"

var vpcHolders sync.Map // testing.TB → struct{}: the tests holding the VPC

// HoldVPC gives the test the engine's Fargate network for as long as it
// runs: a berth server refuses Fargate tasks while another server's tasks
// are on that network, and go test runs packages side by side, so every
// test that starts a server which may run Fargate tasks holds it, across
// processes, through a lock file. When the test ends, every container a
// server left on the network is removed, then the network is let go. Call
// it before anything else the test cleans up, so that it goes last; a
// second call by the same test does nothing.
func HoldVPC(t testing.TB, api client.APIClient) {
	t.Helper()
	if _, held := vpcHolders.LoadOrStore(t, struct{}{}); held {
		return
	}
	path := filepath.Join(os.TempDir(), "berth-test-vpc.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("hold the Fargate network: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("hold the Fargate network: lock %s: %v", path, err)
	}
	t.Cleanup(func() {
		defer vpcHolders.Delete(t)
		defer f.Close() // closing the file lets the lock go
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The pause containers on the network, and the containers in their
		// namespaces, which the network does not list.
		onVPC, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("network", vpcNetwork), filters.Arg("label", "berth.server"))})
		if err != nil {
			t.Errorf("list what the test's servers left on %s: %v", vpcNetwork, err)
			return
		}
		// The network goes last, once nothing is on it: a server leaves it
		// when its Fargate tasks outlive it, as they do a server's stop.
		defer removeVPCIfUnused(ctx, t, api)
		if len(onVPC) == 0 {
			return
		}
		pause := map[string]bool{}
		for _, c := range onVPC {
			pause["container:"+c.ID] = true
		}
		servers, err := api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "berth.server"))})
		if err != nil {
			t.Errorf("list the containers of berth servers: %v", err)
			return
		}
		var left []string
		for _, c := range servers {
			if pause[c.HostConfig.NetworkMode] {
				left = append(left, c.ID)
			}
		}
		for _, c := range onVPC {
			left = append(left, c.ID)
		}
		for _, id := range left {
			if err := api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("remove %s from %s: %v", id, vpcNetwork, err)
			}
		}
	})
}

// removeVPCIfUnused removes berth's VPC network when no container is on
// it. A removal the engine refuses is logged, not failed: Docker 20.10 may
// keep an endpoint of a container gone, which only its restart clears.
func removeVPCIfUnused(ctx context.Context, t testing.TB, api client.APIClient) {
	info, err := api.NetworkInspect(ctx, vpcNetwork, network.InspectOptions{})
	if err != nil || len(info.Containers) > 0 {
		return
	}
	if err := api.NetworkRemove(ctx, vpcNetwork); err != nil && !cerrdefs.IsNotFound(err) {
		t.Logf("remove %s: %v", vpcNetwork, err)
	}
}
