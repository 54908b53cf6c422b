package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/taskdef"
)

// DefaultTaskNetwork is the bridge network awsvpc tasks get their addresses
// on. The host has an interface on it, so it reaches every task's address
// directly, as an ENI's address is reached inside a VPC.
const DefaultTaskNetwork = "berth-awsvpc"

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

// taskNetwork is the awsvpc network. Once found or made it stays for as
// long as the agent lives: making a bridge network costs a third of a
// container start, too much to pay for every task. Close removes it when
// nothing is attached to it any more, and so does a new agent that finds
// it so; the engine refuses to remove a network with endpoints, which only
// means that another agent's tasks (or spare) still use it.
type taskNetwork struct {
	a      *Agent
	name   string
	subnet string // configured subnet, or "" to pick one
	mu     sync.Mutex
	known  bool // the network was found or made by this agent
}

// ensure makes sure the network exists.
func (n *taskNetwork) ensure(ctx context.Context) error {
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

// forget makes the next ensure look at the engine again: another agent may
// have removed the network while nothing was attached to it.
func (n *taskNetwork) forget() {
	n.mu.Lock()
	n.known = false
	n.mu.Unlock()
}

func (n *taskNetwork) findOrCreate(ctx context.Context) error {
	api := n.a.docker
	if _, err := api.NetworkInspect(ctx, n.name, network.InspectOptions{}); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", n.name, err)
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
			Labels: resourceLabels(n.a.cfg.Labels, "network", ""),
		})
		if err == nil {
			return nil
		}
		lastErr = err
		// Another agent on the engine may have made it meanwhile, or taken
		// the subnet: look again, then try the next subnet.
		if _, ierr := api.NetworkInspect(ctx, n.name, network.InspectOptions{}); ierr == nil {
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

// usedSubnets lists the subnets of the engine's networks and of the host's
// interfaces.
func (n *taskNetwork) usedSubnets(ctx context.Context) ([]*net.IPNet, error) {
	nets, err := n.a.docker.NetworkList(ctx, network.ListOptions{})
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

// removeIfUnused removes the network if berth made it and no container of
// any agent is attached to it. A network still in use is not an error.
func (n *taskNetwork) removeIfUnused(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.known = false
	info, err := n.a.docker.NetworkInspect(ctx, n.name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("inspect network %s: %w", n.name, err)
	case info.Labels[LabelManaged] != "true" || len(info.Containers) > 0:
		return nil
	}
	err = n.a.docker.NetworkRemove(ctx, n.name)
	if err == nil || cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "active endpoints") {
		return nil
	}
	return fmt.Errorf("remove network %s: %w", n.name, err)
}

// needsPause reports whether the task needs a container to own namespaces
// its containers share: the network under awsvpc, PID and IPC under "task".
func needsPause(def *taskdef.TaskDefinition) bool {
	return def.NetworkMode == taskdef.NetworkAWSVPC || def.PidMode == "task" || def.IpcMode == "task"
}
