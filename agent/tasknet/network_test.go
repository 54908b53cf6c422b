package tasknet

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testManagedLabel = "berth.managed"

// testNetwork is a task network of the test's own name on the real engine,
// labelled so that the test's cleanup removes whatever it leaves; labels
// are for its pause containers.
func testNetwork(t *testing.T) (n *Network, api client.APIClient, labels map[string]string) {
	t.Helper()
	api = testenv.Docker(t)
	testenv.EnsureImages(t)
	key, value := testenv.Label(t, api)
	labels = map[string]string{key: value, testManagedLabel: "true"}
	n = New(api, Config{Name: "berth-test-" + value, Labels: labels, ManagedLabel: testManagedLabel, Logf: t.Logf})
	return n, api, labels
}

// removeContainer is SparesConfig.Remove for tests.
func removeContainer(t *testing.T, api client.APIClient) func(ctx context.Context, id string) {
	return func(ctx context.Context, id string) {
		if err := api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove container %s: %v", id, err)
		}
	}
}

// startPause starts a pause container carrying labels, on the task
// network when onNetwork (taking the network's lease meanwhile, as the
// agent does), and returns its ID and address. The test's label removes it
// when the test ends.
func startPause(t *testing.T, n *Network, labels map[string]string, onNetwork bool) (id, addr string) {
	t.Helper()
	ctx := context.Background()
	cfg, host, netCfg := n.PauseConfig(labels)
	if onNetwork {
		leave, err := n.Join(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer leave()
	} else {
		host.NetworkMode = network.NetworkNone
		netCfg = &network.NetworkingConfig{}
	}
	id, err := n.CreatePause(ctx, cfg, host, netCfg, "", onNetwork)
	if err != nil {
		t.Fatalf("create the pause container: %v", err)
	}
	if addr, err = n.RunPause(ctx, id, onNetwork); err != nil {
		t.Fatalf("start the pause container: %v", err)
	}
	return id, addr
}

// subnetOf is the network's subnet as the engine has it.
func subnetOf(t *testing.T, api client.APIClient, name string) *net.IPNet {
	t.Helper()
	info, err := api.NetworkInspect(context.Background(), name, network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect network %s: %v", name, err)
	}
	if len(info.IPAM.Config) == 0 {
		t.Fatalf("network %s has no subnet", name)
	}
	_, cidr, err := net.ParseCIDR(info.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("network %s: subnet: %v", name, err)
	}
	return cidr
}

func networkExists(t *testing.T, api client.APIClient, name string) bool {
	t.Helper()
	list, err := api.NetworkList(context.Background(), network.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, nw := range list {
		if nw.Name == name {
			return true
		}
	}
	return false
}

// A pause container started on the task network has an address of the
// network's subnet, and the network stays while it is attached: removal
// leaves a network in use, and takes it once nothing is.
func TestPauseContainerHoldsAnAddressOfTheNetworkUntilItGoes(t *testing.T) {
	n, api, labels := testNetwork(t)
	ctx := context.Background()
	id, addr := startPause(t, n, labels, true)
	subnet := subnetOf(t, api, n.Name())
	if ip := net.ParseIP(addr); ip == nil || !subnet.Contains(ip) {
		t.Errorf("the pause container's address %q is not in the network's subnet %s", addr, subnet)
	}

	if err := n.RemoveIfUnused(ctx); err != nil {
		t.Fatalf("remove the network in use: %v", err)
	}
	if !networkExists(t, api, n.Name()) {
		t.Fatal("the network was removed while a pause container was attached to it")
	}
	removeContainer(t, api)(ctx, id)
	if err := n.RemoveIfUnused(ctx); err != nil {
		t.Fatalf("remove the unused network: %v", err)
	}
	if networkExists(t, api, n.Name()) {
		t.Error("the network stayed once nothing was attached to it")
	}
}

// A pause container that shares only PID or IPC namespaces is made off
// the network and has no address on it.
func TestPauseContainerOffTheNetworkHasNoAddress(t *testing.T) {
	n, api, labels := testNetwork(t)
	_, addr := startPause(t, n, labels, false)
	if addr != "" {
		t.Errorf("a pause container off the network has the address %q on it", addr)
	}
	if networkExists(t, api, n.Name()) {
		t.Error("a pause container off the network made the network")
	}
}

// A spare is made in the background, handed over running with its address
// to the task that takes it, and owned by that task; Close removes the one
// no task took, and disabled spares are never made.
func TestSparesAreTakenRunningAndCloseRemovesTheOneLeft(t *testing.T) {
	n, api, labels := testNetwork(t)
	ctx := context.Background()
	var group sync.WaitGroup
	life, end := context.WithCancel(ctx)
	defer end()
	spares := NewSpares(n, SparesConfig{Enabled: true, Labels: labels, Life: life, Group: &group, Remove: removeContainer(t, api), Logf: t.Logf})

	spares.Replenish()
	id, addr, ok := spares.Take(ctx, "arn:task/one", "")
	if !ok {
		t.Fatal("no spare to take after Replenish")
	}
	t.Cleanup(func() { removeContainer(t, api)(context.Background(), id) })
	info, err := api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State == nil || !info.State.Running {
		t.Error("the spare taken does not run")
	}
	if info.Config.Labels[LabelSpare] != "true" {
		t.Errorf("the spare's labels %v lack %s", info.Config.Labels, LabelSpare)
	}
	if got := n.PauseAddress(info); got != addr || addr == "" {
		t.Errorf("Take gave the address %q, the engine has %q", addr, got)
	}
	if owner := spares.Owner(id); owner != "arn:task/one" {
		t.Errorf("the spare's owner is %q", owner)
	}
	spares.Disown(id)
	if owner := spares.Owner(id); owner != "" {
		t.Errorf("a disowned spare's owner is %q", owner)
	}

	// The next spare, made while the agent lives, is removed by Close.
	spares.Replenish()
	group.Wait()
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	spares.Close(closeCtx)
	if left := sparesLeft(t, api, labels, id); len(left) != 0 {
		t.Errorf("spares %v stayed after Close", left)
	}
	// Once the agent's life is over, none is made.
	end()
	spares.Replenish()
	group.Wait()
	if left := sparesLeft(t, api, labels, id); len(left) != 0 {
		t.Errorf("spares %v were made after the agent's life ended", left)
	}

	off := NewSpares(n, SparesConfig{Labels: labels, Life: ctx, Group: &group, Remove: removeContainer(t, api)})
	off.Replenish()
	group.Wait()
	if id, _, ok := off.Take(ctx, "arn:task/two", ""); ok {
		removeContainer(t, api)(ctx, id)
		t.Error("disabled spares made one")
	}
}

// sparesLeft lists the spares carrying labels on the engine, but taken.
func sparesLeft(t *testing.T, api client.APIClient, labels map[string]string, taken string) []string {
	t.Helper()
	list, err := api.ContainerList(context.Background(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, c := range list {
		if c.ID == taken || c.Labels[LabelSpare] != "true" {
			continue
		}
		ours := true
		for k, v := range labels {
			ours = ours && c.Labels[k] == v
		}
		if ours {
			left = append(left, c.ID)
		}
	}
	return left
}

// parkedSpares are the spares of a network whose subnet's last /24 is
// Park, made and waited for; want is an address of the subnet outside Park.
func parkedSpares(t *testing.T) (n *Network, api client.APIClient, labels map[string]string, spares *Spares, want string) {
	t.Helper()
	n, api, labels = testNetwork(t)
	ctx := context.Background()
	if err := n.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	subnet, err := netip.ParsePrefix(subnetOf(t, api, n.Name()).String())
	if err != nil {
		t.Fatal(err)
	}
	// As an agent's with a SpareRange, the network is of a subnet given,
	// so that it is made again on the same one.
	n = New(api, Config{Name: n.Name(), Subnet: subnet.String(), Labels: labels, ManagedLabel: testManagedLabel, Logf: t.Logf})
	base := subnet.Addr().As4()
	park := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], 255, 0}), 24)
	want = netip.AddrFrom4([4]byte{base[0], base[1], 3, 7}).String()
	var group sync.WaitGroup
	life, end := context.WithCancel(ctx)
	t.Cleanup(func() {
		end()
		group.Wait()
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		spares.Close(closeCtx)
	})
	spares = NewSpares(n, SparesConfig{Enabled: true, Labels: labels, Life: life, Group: &group,
		Remove: removeContainer(t, api), Logf: t.Logf, Park: park})
	spares.Replenish()
	group.Wait()
	left := sparesLeft(t, api, labels, "")
	if len(left) != 1 {
		t.Fatalf("Replenish made the spares %v, want one", left)
	}
	info, err := api.ContainerInspect(ctx, left[0])
	if err != nil {
		t.Fatal(err)
	}
	if info.State == nil || !info.State.Running || len(info.NetworkSettings.Networks) != 0 {
		t.Fatalf("the parked spare is not running off every network: running %v, networks %v", info.State != nil && info.State.Running, info.NetworkSettings.Networks)
	}
	return n, api, labels, spares, want
}

// A parked spare waits running and off the network, holding no address,
// and joins the network at the address of the task that takes it; a task
// without an address of its own does not take it.
func TestParkedSpareJoinsTheNetworkAtTheTaskAddress(t *testing.T) {
	n, api, _, spares, want := parkedSpares(t)
	ctx := context.Background()
	if id, _, ok := spares.Take(ctx, "arn:task/none", ""); ok {
		removeContainer(t, api)(ctx, id)
		t.Fatal("a task without an address took a parked spare")
	}
	id, addr, ok := spares.Take(ctx, "arn:task/one", want)
	if !ok {
		t.Fatal("the task with an address took no parked spare")
	}
	t.Cleanup(func() { removeContainer(t, api)(context.Background(), id) })
	if addr != want {
		t.Errorf("Take gave the address %q, want the task's %s", addr, want)
	}
	info, err := api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.PauseAddress(info); got != want || info.State == nil || !info.State.Running {
		t.Errorf("the spare taken has the address %q on the network (running %v), want %s", got, info.State != nil && info.State.Running, want)
	}
	if owner := spares.Owner(id); owner != "arn:task/one" {
		t.Errorf("the spare's owner is %q", owner)
	}
}

// A parked spare holds no endpoint, so the network may go while it waits
// (another agent removes it once nothing is attached): the take makes it
// again and the spare joins the new one.
func TestParkedSpareJoinsTheNetworkMadeAgain(t *testing.T) {
	n, api, _, spares, want := parkedSpares(t)
	ctx := context.Background()
	if err := api.NetworkRemove(ctx, n.Name()); err != nil {
		t.Fatalf("remove the network the spare waits off: %v", err)
	}
	id, addr, ok := spares.Take(ctx, "arn:task/one", want)
	if !ok {
		t.Fatal("no spare taken once the network had gone")
	}
	t.Cleanup(func() { removeContainer(t, api)(context.Background(), id) })
	info, err := api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.PauseAddress(info); addr != want || got != want {
		t.Errorf("the spare joined at %q (Take says %q), want %s", got, addr, want)
	}
}

// A take cut short (the task stopped while the spare joins) hands nothing
// over and removes the spare, which holds no address afterwards.
func TestParkedSpareTakeCutShortRemovesIt(t *testing.T) {
	_, api, labels, spares, want := parkedSpares(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if id, _, ok := spares.Take(ctx, "arn:task/stopped", want); ok {
		removeContainer(t, api)(context.Background(), id)
		t.Fatal("a take with its context ended handed a spare over")
	}
	if left := sparesLeft(t, api, labels, ""); len(left) != 0 {
		t.Errorf("the spare of a take cut short stayed: %v", left)
	}
}
