package tasknet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/agent/engine"
)

// DefaultName is the bridge network awsvpc tasks get their addresses on.
// The host has an interface on it, so it reaches every task's address
// directly, as an ENI's address is reached inside a VPC.
const DefaultName = "berth-awsvpc"

// subnetCandidates are tried in order for the task network when no subnet
// is configured; the first that overlaps neither a Docker network nor a host
// interface is taken.
var subnetCandidates = func() []string {
	var out []string
	for i := 200; i < 250; i++ {
		out = append(out, fmt.Sprintf("10.%d.0.0/16", i))
	}
	return out
}()

// Engine is the calls the task network and its pause containers make;
// engine.Engine has them all.
type Engine interface {
	engine.Networks
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, container string, options container.StartOptions) error
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
	DaemonHost() string
}

// Config is where and how the task network is made.
type Config struct {
	// Name of the network (DefaultName, unless configured).
	Name string
	// Subnet is its CIDR; empty picks a free one of 10.200-249.0.0/16.
	Subnet string
	// Labels go on the network when it is made. ManagedLabel is the label
	// whose value "true" marks what berth made: only such networks are
	// ever removed.
	Labels       map[string]string
	ManagedLabel string
	// Logf reports what the network's owner should know but cannot act on.
	Logf func(format string, args ...any)
}

// Network is the awsvpc network. Once found or made it stays for as long
// as its agent lives: making a bridge network costs a third of a container
// start, too much to pay for every task. The agent's Close removes it when
// nothing is attached to it any more, and so does a new agent that finds it
// so; the engine refuses to remove a network with endpoints, which only
// means that another agent's tasks (or spare) still use it.
type Network struct {
	engine Engine
	name   string
	subnet string            // configured subnet, or "" to pick one
	labels map[string]string // put on the network when made
	// managed is the label whose value "true" marks what berth made.
	managed string
	logf    func(format string, args ...any)

	mu    sync.Mutex
	known bool   // the network was found or made by this agent
	id    string // its ID: two agents making it at once can leave two of that name
	// stuck holds the networks the engine refused to remove for endpoints
	// no container holds, each reported once.
	stuck map[string]bool
}

// New returns the task network of cfg on the engine; nothing is made
// until Ensure.
func New(e Engine, cfg Config) *Network {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Network{engine: e, name: cfg.Name, subnet: cfg.Subnet, labels: cfg.Labels, managed: cfg.ManagedLabel, logf: cfg.Logf}
}

// Name is the network's name.
func (n *Network) Name() string { return n.name }

// Ensure makes sure the network exists.
func (n *Network) Ensure(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.known {
		return nil
	}
	if err := n.findOrCreate(ctx); err != nil {
		return err
	}
	n.known = true
	return nil
}

// Forget makes the next Ensure look at the engine again: another agent may
// have removed the network while nothing was attached to it.
func (n *Network) Forget() {
	n.mu.Lock()
	n.known = false
	n.mu.Unlock()
}

// attach puts the pause container on the task network by the network's
// ID, so a name that two agents' networks briefly share is never looked
// up: not at the create, which takes the network mode, nor at the start,
// which finds the network by the endpoint's NetworkID when it is set and by
// name otherwise. It is called after Ensure, and again after each Ensure
// that follows a network gone missing: the container's one endpoint is
// keyed by the network's name at first and by the earlier ID after.
func (n *Network) attach(host *container.HostConfig, netCfg *network.NetworkingConfig) {
	n.mu.Lock()
	id := n.id
	n.mu.Unlock()
	host.NetworkMode = container.NetworkMode(id)
	ep := &network.EndpointSettings{}
	for key, e := range netCfg.EndpointsConfig {
		if e != nil {
			ep = e
		}
		delete(netCfg.EndpointsConfig, key)
	}
	ep.NetworkID = id
	netCfg.EndpointsConfig[id] = ep
}

// currentID is the ID of the network as last found or made.
func (n *Network) currentID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// reattach moves a created container whose network has gone onto the task
// network as it is now, keeping the address it asked for.
func (n *Network) reattach(ctx context.Context, containerID string) error {
	info, err := n.engine.ContainerInspect(ctx, containerID)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	settings := &network.EndpointSettings{}
	if info.NetworkSettings != nil {
		for old, ep := range info.NetworkSettings.Networks {
			if ep != nil && ep.IPAMConfig != nil {
				settings.IPAMConfig = ep.IPAMConfig
			}
			// The network is gone; the engine only forgets the endpoint.
			_ = n.engine.NetworkDisconnect(ctx, old, containerID, true)
		}
	}
	n.mu.Lock()
	id := n.id
	n.mu.Unlock()
	settings.NetworkID = id
	if err := n.engine.NetworkConnect(ctx, id, containerID, settings); err != nil {
		return fmt.Errorf("connect to network %s: %w", n.name, err)
	}
	return nil
}

// networkAttempts bounds how often the agent makes the task network again
// when another agent on the engine removes it between its making and the
// pause container's start (an agent removes it whenever nothing is
// attached, as it closes or reaps). Each removal needs another agent to
// close in that instant, so a third in a row means something else is wrong.
const networkAttempts = 3

// errNetworkGone is the task network removed by someone else between its
// making and its use.
var errNetworkGone = errors.New("gone right after it was made")

// findOrCreate finds the network or makes it, and settles on one network of
// that name: agents that made it at the same moment (the engine does not
// refuse a second network of a name) all take the oldest, and the others
// are removed.
func (n *Network) findOrCreate(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		if err := n.create(ctx); err != nil {
			return err
		}
		err := n.settle(ctx)
		if !errors.Is(err, errNetworkGone) || attempt == networkAttempts {
			return err
		}
	}
}

// settle picks the oldest network of the name as the task network and
// removes the other berth-made ones that nothing is attached to.
func (n *Network) settle(ctx context.Context) error {
	same, err := n.sameName(ctx)
	if err != nil {
		return err
	}
	if len(same) == 0 {
		return fmt.Errorf("network %s: %w", n.name, errNetworkGone)
	}
	sort.Slice(same, func(i, j int) bool {
		if !same[i].Created.Equal(same[j].Created) {
			return same[i].Created.Before(same[j].Created)
		}
		return same[i].ID < same[j].ID
	})
	n.id = same[0].ID
	for _, other := range same[1:] {
		if other.Labels[n.managed] == "true" {
			// Refused while another agent's container is on it: that agent
			// removes it when it is done.
			_ = n.engine.NetworkRemove(ctx, other.ID)
		}
	}
	return nil
}

// sameName lists the networks called exactly n.name.
func (n *Network) sameName(ctx context.Context) ([]network.Summary, error) {
	list, err := n.engine.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", n.name))})
	if err != nil {
		return nil, fmt.Errorf("list networks named %s: %w", n.name, err)
	}
	out := list[:0]
	for _, nw := range list {
		if nw.Name == n.name { // the filter also matches names that contain it
			out = append(out, nw)
		}
	}
	return out, nil
}

// create makes the network unless one of its name exists.
func (n *Network) create(ctx context.Context) error {
	api := n.engine
	if same, err := n.sameName(ctx); err != nil {
		return err
	} else if len(same) > 0 {
		return nil
	}
	candidates := []string{n.subnet}
	if n.subnet == "" {
		used, err := n.usedSubnets(ctx)
		if err != nil {
			return err
		}
		candidates = nil
		for _, c := range subnetCandidates {
			_, cidr, _ := net.ParseCIDR(c)
			if !overlapsAny(cidr, used) {
				candidates = append(candidates, c)
			}
		}
	}
	var lastErr error
	for _, subnet := range candidates {
		_, err := api.NetworkCreate(ctx, n.name, network.CreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}},
			Labels: n.labels,
		})
		if err == nil {
			return nil
		}
		lastErr = err
		if nameTaken(err) {
			// Another creator got there between the look and the create.
			return n.awaitListed(ctx)
		}
		// Another agent on the engine may have made it meanwhile, or taken
		// the subnet: look again, then try the next subnet.
		if same, lerr := n.sameName(ctx); lerr == nil && len(same) > 0 {
			return nil
		}
		if n.subnet != "" || !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	if lastErr == nil {
		lastErr = errors.New("no free subnet among 10.200.0.0/16-10.249.0.0/16")
	}
	return fmt.Errorf("create network %s: %w", n.name, lastErr)
}

// nameTaken reports whether a create failed because a network of the name
// exists.
func nameTaken(err error) bool {
	return cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "already exists")
}

// listedWaits are the pauses between looks for a network another creator
// made: the engine refuses a second network of the name a moment before
// it lists the first, while that one is still being made.
var listedWaits = []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// awaitListed looks again for the network another creator has made, until
// the engine lists it. Should it never appear (its creator failed and
// removed it), settle finds no network and findOrCreate makes one again.
func (n *Network) awaitListed(ctx context.Context) error {
	for _, wait := range listedWaits {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("wait for network %s: %w", n.name, ctx.Err())
		}
		same, err := n.sameName(ctx)
		if err != nil {
			return err
		}
		if len(same) > 0 {
			return nil
		}
	}
	return nil
}

// usedSubnets lists the subnets of the engine's networks and of the host's
// interfaces.
func (n *Network) usedSubnets(ctx context.Context) ([]*net.IPNet, error) {
	nets, err := n.engine.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var used []*net.IPNet
	for _, nw := range nets {
		for _, c := range nw.IPAM.Config {
			if _, cidr, err := net.ParseCIDR(c.Subnet); err == nil {
				used = append(used, cidr)
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				used = append(used, ipn)
			}
		}
	}
	return used, nil
}

func overlapsAny(cidr *net.IPNet, used []*net.IPNet) bool {
	for _, u := range used {
		if u.Contains(cidr.IP) || cidr.Contains(u.IP) {
			return true
		}
	}
	return false
}

// RemoveIfUnused removes the network if berth made it and no container of
// any agent is attached to it. A network still in use is not an error. One
// the engine refuses to remove for endpoints that no container holds (left
// behind by the engine, as after an attach that failed halfway) stays, and
// is reported once in the agent's life: berth can do nothing about it, but
// it is not in use either.
func (n *Network) RemoveIfUnused(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.known, n.id = false, ""
	release, ok := n.tryRemoval()
	if !ok {
		return nil // a pause container is joining it: it is in use
	}
	defer release()
	same, err := n.sameName(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, nw := range same {
		info, err := n.engine.NetworkInspect(ctx, nw.ID, network.InspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("inspect network %s: %w", n.name, err))
			continue
		case info.Labels[n.managed] != "true" || len(info.Containers) > 0:
			continue
		}
		err = n.engine.NetworkRemove(ctx, nw.ID)
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
		case strings.Contains(err.Error(), "active endpoints"):
			// Another agent's container may have joined since the
			// inspect: that network is in use, not stuck. Only one that
			// still has no container is.
			if again, ierr := n.engine.NetworkInspect(ctx, nw.ID, network.InspectOptions{}); ierr == nil && len(again.Containers) == 0 {
				n.reportStuck(nw.ID, err)
			}
		default:
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}

// reportStuck reports a network that no container is attached to but that
// the engine refuses to remove: once in the agent's life, and once for all
// the agents of the machine until it restarts (a mark in the temporary
// directory), since every berth run is an agent of its own. Its caller
// holds n.mu.
func (n *Network) reportStuck(id string, err error) {
	if n.stuck[id] {
		return
	}
	if n.stuck == nil {
		n.stuck = map[string]bool{}
	}
	n.stuck[id] = true
	mark := filepath.Join(os.TempDir(), "berth-network-stuck-"+id)
	if f, ferr := os.OpenFile(mark, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); ferr != nil {
		return // reported already, by this agent or another
	} else {
		f.Close()
	}
	n.logf("network %s (%.12s) stays on the engine: no container is attached to it, but the engine refuses to remove it (%v); the engine lost track of an endpoint, and restarting it clears that", n.name, id, err)
}
