package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/images"
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

// taskNetwork is the awsvpc network, created on first use and removed when
// the last task using it is gone.
type taskNetwork struct {
	a      *Agent
	name   string
	subnet string // configured subnet, or "" to pick one
	mu     sync.Mutex
	users  int
}

// acquire makes sure the network exists and counts one more task on it.
func (n *taskNetwork) acquire(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.ensure(ctx); err != nil {
		return err
	}
	n.users++
	return nil
}

func (n *taskNetwork) ensure(ctx context.Context) error {
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

// release counts one task fewer and removes the network after the last.
// Another agent's task may still be attached, in which case the engine
// refuses and the network stays for that agent to remove.
func (n *taskNetwork) release(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.users > 0 {
		n.users--
	}
	if n.users > 0 {
		return nil
	}
	err := n.a.docker.NetworkRemove(ctx, n.name)
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

// startPause creates and starts the task's pause container and returns its
// ID and, under awsvpc, the task's address.
func (t *task) startPause(ctx context.Context) (id, addr string, err error) {
	def := t.def()
	if err := images.Ensure(ctx, t.a.docker, t.a.binaryPath, images.PauseRef); err != nil {
		return "", "", engineErr(ResourceInitializationError, "build the pause image: %w", err)
	}
	stop := 5
	cfg := &container.Config{
		Image:       images.PauseRef,
		Labels:      t.containerLabels(pauseContainerName, nil),
		StopTimeout: &stop,
	}
	host := &container.HostConfig{
		NetworkMode: network.NetworkNone,
		Resources:   container.Resources{CgroupParent: t.cgroupParent},
		LogConfig:   container.LogConfig{Type: "json-file"},
	}
	if def.IpcMode == "task" {
		host.IpcMode = "shareable"
	}
	netCfg := &network.NetworkingConfig{}
	if def.NetworkMode == taskdef.NetworkAWSVPC {
		if err := t.a.network.acquire(ctx); err != nil {
			return "", "", engineErr(ResourceInitializationError, "%w", err)
		}
		t.usesNetwork = true
		host.NetworkMode = container.NetworkMode(t.a.network.name)
		ep := &network.EndpointSettings{}
		if t.record.Address != "" {
			ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: t.record.Address}
		}
		netCfg.EndpointsConfig = map[string]*network.EndpointSettings{t.a.network.name: ep}
	}
	name := dockerName(def.Family, t.record.Revision, pauseContainerName)
	created, err := t.a.docker.ContainerCreate(ctx, cfg, host, netCfg, nil, name)
	if err != nil {
		return "", "", engineErr(ResourceInitializationError, "create the task's pause container: %w", err)
	}
	t.pauseID = created.ID
	if err := t.a.docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return "", "", engineErr(ResourceInitializationError, "start the task's pause container: %w", err)
	}
	info, err := t.a.docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return "", "", engineErr(ResourceInitializationError, "inspect the task's pause container: %w", err)
	}
	if info.NetworkSettings != nil {
		if ep := info.NetworkSettings.Networks[t.a.network.name]; ep != nil {
			addr = ep.IPAddress
		}
	}
	return created.ID, addr, nil
}
