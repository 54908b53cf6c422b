package enginetest

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

type fakeNetwork struct {
	id, name, driver string
	subnet           netip.Prefix
	gateway          netip.Addr
	labels           map[string]string
	// used are the addresses given out, to the container holding each.
	used map[netip.Addr]string
}

// addNetwork makes a network; e.mu is held or the engine is new.
func (e *Engine) addNetwork(name, driver, subnet string, labels map[string]string) *fakeNetwork {
	prefix := netip.MustParsePrefix(subnet).Masked()
	n := &fakeNetwork{
		id:      newID(),
		name:    name,
		driver:  driver,
		subnet:  prefix,
		gateway: prefix.Addr().Next(),
		labels:  maps.Clone(labels),
		used:    map[netip.Addr]string{},
	}
	e.networks[n.id] = n
	return n
}

func (e *Engine) networkLocked(ref string) *fakeNetwork {
	if n, ok := e.networks[ref]; ok {
		return n
	}
	for _, n := range e.networks {
		if n.name == ref || (len(ref) >= 12 && strings.HasPrefix(n.id, ref)) {
			return n
		}
	}
	return nil
}

// NetworkCreate makes a network with the subnet of its IPAM config (one
// from 172.18.0.0/16 on when it names none). A subnet another network has
// is a Forbidden error, as Docker's pool overlap.
func (e *Engine) NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error) {
	if err := e.enter(ctx, "NetworkCreate", name); err != nil {
		return network.CreateResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	subnet := ""
	if options.IPAM != nil && len(options.IPAM.Config) > 0 {
		subnet = options.IPAM.Config[0].Subnet
	}
	if subnet == "" {
		for i := 18; i < 32; i++ {
			candidate := "172." + strconv.Itoa(i) + ".0.0/16"
			if !e.overlapsLocked(netip.MustParsePrefix(candidate)) {
				subnet = candidate
				break
			}
		}
	}
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil {
		return network.CreateResponse{}, invalid("invalid subnet %q", subnet)
	}
	if e.overlapsLocked(prefix) {
		return network.CreateResponse{}, conflict("invalid pool request: Pool overlaps with other one on this address space")
	}
	driver := options.Driver
	if driver == "" {
		driver = "bridge"
	}
	n := e.addNetwork(name, driver, subnet, options.Labels)
	return network.CreateResponse{ID: n.id}, nil
}

func (e *Engine) overlapsLocked(p netip.Prefix) bool {
	for _, n := range e.networks {
		if n.subnet.Overlaps(p) {
			return true
		}
	}
	return false
}

// NetworkInspect describes a network, with the containers on it.
func (e *Engine) NetworkInspect(ctx context.Context, ref string, options network.InspectOptions) (network.Inspect, error) {
	if err := e.enter(ctx, "NetworkInspect", ref); err != nil {
		return network.Inspect{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.networkLocked(ref)
	if n == nil {
		return network.Inspect{}, notFound("network %s not found", ref)
	}
	return e.describeLocked(n), nil
}

func (e *Engine) describeLocked(n *fakeNetwork) network.Inspect {
	out := network.Inspect{
		Name:       n.name,
		ID:         n.id,
		Scope:      "local",
		Driver:     n.driver,
		IPAM:       network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: n.subnet.String(), Gateway: n.gateway.String()}}},
		Labels:     maps.Clone(n.labels),
		Containers: map[string]network.EndpointResource{},
	}
	for addr, id := range n.used {
		c := e.containers[id]
		if c == nil {
			continue
		}
		out.Containers[id] = network.EndpointResource{
			Name:        c.name,
			EndpointID:  c.endpoints[n.id].EndpointID,
			IPv4Address: netip.PrefixFrom(addr, n.subnet.Bits()).String(),
		}
	}
	return out
}

// NetworkList lists the networks that pass the filters name, id and label.
func (e *Engine) NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error) {
	if err := e.enter(ctx, "NetworkList", ""); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f := options.Filters
	var out []network.Summary
	for _, n := range e.networks {
		if !matchLabels(f, n.labels) || !matchName(f, n.name) {
			continue
		}
		if f.Contains("id") && !slices.ContainsFunc(f.Get("id"), func(p string) bool { return strings.HasPrefix(n.id, p) }) {
			continue
		}
		out = append(out, e.describeLocked(n))
	}
	slices.SortFunc(out, func(a, b network.Summary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// NetworkConnect puts a container on a network, at the address its
// settings ask for or the next free one.
func (e *Engine) NetworkConnect(ctx context.Context, ref, id string, settings *network.EndpointSettings) error {
	if err := e.enter(ctx, "NetworkConnect", ref); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	return e.connectLocked(ref, c, settings)
}

func (e *Engine) connectLocked(ref string, c *fakeContainer, settings *network.EndpointSettings) error {
	n := e.networkLocked(ref)
	if n == nil {
		return notFound("network %s not found", ref)
	}
	if _, on := c.endpoints[n.id]; on {
		return conflict("endpoint with name %s already exists in network %s", c.name, n.name)
	}
	var addr netip.Addr
	if settings != nil && settings.IPAMConfig != nil && settings.IPAMConfig.IPv4Address != "" {
		want, err := netip.ParseAddr(settings.IPAMConfig.IPv4Address)
		if err != nil || !n.subnet.Contains(want) {
			return invalid("invalid address %q for network %s", settings.IPAMConfig.IPv4Address, n.name)
		}
		if _, taken := n.used[want]; taken || want == n.gateway {
			return conflict("Address already in use")
		}
		addr = want
	} else {
		for a := n.gateway.Next(); n.subnet.Contains(a); a = a.Next() {
			if _, taken := n.used[a]; !taken {
				addr = a
				break
			}
		}
		if !addr.IsValid() {
			return conflict("no available IPv4 addresses on this network's address pools: %s", n.name)
		}
	}
	n.used[addr] = c.id
	ep := &network.EndpointSettings{}
	if settings != nil {
		copied := *settings
		ep = &copied
	}
	ep.NetworkID = n.id
	ep.EndpointID = newID()
	ep.IPAddress = addr.String()
	ep.IPPrefixLen = n.subnet.Bits()
	ep.Gateway = n.gateway.String()
	c.endpoints[n.id] = ep
	return nil
}

// NetworkDisconnect takes a container off a network.
func (e *Engine) NetworkDisconnect(ctx context.Context, ref, id string, force bool) error {
	if err := e.enter(ctx, "NetworkDisconnect", ref); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.networkLocked(ref)
	if n == nil {
		return notFound("network %s not found", ref)
	}
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	if _, on := c.endpoints[n.id]; !on {
		return invalid("container %s is not connected to network %s", c.id, n.name)
	}
	e.disconnectLocked(n, c)
	return nil
}

func (e *Engine) disconnectLocked(n *fakeNetwork, c *fakeContainer) {
	for addr, holder := range n.used {
		if holder == c.id {
			delete(n.used, addr)
		}
	}
	delete(c.endpoints, n.id)
}

func (e *Engine) disconnectAllLocked(c *fakeContainer) {
	for id := range c.endpoints {
		if n := e.networks[id]; n != nil {
			e.disconnectLocked(n, c)
		}
	}
}

// NetworkRemove removes a network no container is on; Docker's own
// bridge cannot be removed.
func (e *Engine) NetworkRemove(ctx context.Context, ref string) error {
	if err := e.enter(ctx, "NetworkRemove", ref); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.networkLocked(ref)
	if n == nil {
		return notFound("network %s not found", ref)
	}
	if n.name == "bridge" {
		return invalid("bridge is a pre-defined network and cannot be removed")
	}
	if len(n.used) > 0 {
		return conflict("error while removing network: network %s has active endpoints", n.name)
	}
	delete(e.networks, n.id)
	return nil
}

// Volumes.

type fakeVolume struct {
	v volume.Volume
}

func (e *Engine) newVolume(name, driver string, opts, labels map[string]string) *fakeVolume {
	if driver == "" {
		driver = "local"
	}
	return &fakeVolume{v: volume.Volume{
		Name:       name,
		Driver:     driver,
		Mountpoint: "/var/lib/docker/volumes/" + name + "/_data",
		CreatedAt:  dockerTime(e.clock.Now()),
		Labels:     maps.Clone(labels),
		Options:    maps.Clone(opts),
		Scope:      "local",
	}}
}

func cloneVolume(v *fakeVolume) volume.Volume {
	out := v.v
	out.Labels = maps.Clone(v.v.Labels)
	out.Options = maps.Clone(v.v.Options)
	return out
}

// VolumeCreate makes a volume; one of that name already there is
// answered as it is, as Docker does.
func (e *Engine) VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error) {
	if err := e.enter(ctx, "VolumeCreate", options.Name); err != nil {
		return volume.Volume{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	name := options.Name
	if name == "" {
		name = newID()
	}
	v, ok := e.volumes[name]
	if !ok {
		v = e.newVolume(name, options.Driver, options.DriverOpts, options.Labels)
		e.volumes[name] = v
	}
	return cloneVolume(v), nil
}

// VolumeInspect describes a volume.
func (e *Engine) VolumeInspect(ctx context.Context, name string) (volume.Volume, error) {
	if err := e.enter(ctx, "VolumeInspect", name); err != nil {
		return volume.Volume{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.volumes[name]
	if !ok {
		return volume.Volume{}, notFound("get %s: no such volume", name)
	}
	return cloneVolume(v), nil
}

// VolumeList lists the volumes that pass the filters name and label.
func (e *Engine) VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error) {
	if err := e.enter(ctx, "VolumeList", ""); err != nil {
		return volume.ListResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out volume.ListResponse
	for _, v := range e.volumes {
		if !matchLabels(options.Filters, v.v.Labels) || !matchName(options.Filters, v.v.Name) {
			continue
		}
		copied := cloneVolume(v)
		out.Volumes = append(out.Volumes, &copied)
	}
	slices.SortFunc(out.Volumes, func(a, b *volume.Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// VolumeRemove removes a volume no container mounts.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	if err := e.enter(ctx, "VolumeRemove", name); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.volumes[name]; !ok {
		if force {
			return nil
		}
		return notFound("get %s: no such volume", name)
	}
	for _, c := range e.containers {
		if slices.Contains(e.volumesOf(c), name) {
			return conflict("remove %s: volume is in use - [%s]", name, c.id)
		}
	}
	delete(e.volumes, name)
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
