package tasknet

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"
)

// LabelSpare marks a spare pause container: started ahead of the awsvpc task
// that will take it, and owned by no task until then.
const LabelSpare = "berth.spare-pause"

// NeedsPause reports whether the task needs a container to own namespaces
// its containers share: the network under awsvpc, PID and IPC under "task".
func NeedsPause(def *taskdef.TaskDefinition) bool {
	return def.NetworkMode == taskdef.NetworkAWSVPC || def.PidMode == "task" || def.IpcMode == "task"
}

// PauseConfig is a pause container on the task network: the one of an
// awsvpc task, or a spare. Its IPC namespace is shareable so that a spare
// suits a task whose ipcMode is task as well.
func (n *Network) PauseConfig(labels map[string]string) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	stop := 5
	cfg := &container.Config{Image: images.PauseRef, Labels: labels, StopTimeout: &stop}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(n.name),
		IpcMode:     "shareable",
		LogConfig:   container.LogConfig{Type: "json-file"},
	}
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{n.name: {}}}
	return cfg, host, netCfg
}

// CreatePause creates a pause container, on the task network when
// onNetwork, which it makes sure exists. Should another agent remove the
// network between that and the create, it is made again.
func (n *Network) CreatePause(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, name string, onNetwork bool) (string, error) {
	for attempt := 1; ; attempt++ {
		if onNetwork {
			if err := n.Ensure(ctx); err != nil {
				return "", err
			}
			n.attach(host, netCfg)
		}
		created, err := n.engine.ContainerCreate(ctx, cfg, host, netCfg, nil, name)
		if err == nil {
			return created.ID, nil
		}
		if !onNetwork || !cerrdefs.IsNotFound(err) || attempt == networkAttempts {
			return "", err
		}
		n.Forget()
	}
}

// RunPause starts a pause container and returns its address on the task
// network, if it is on it. The engine looks the network up at the start:
// should another agent have just removed it, it is made again, the
// container moved onto it and the start tried again, networkAttempts
// times at most.
func (n *Network) RunPause(ctx context.Context, id string, onNetwork bool) (string, error) {
	if err := n.start(ctx, id, onNetwork); err != nil {
		return "", err
	}
	info, err := n.engine.ContainerInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("inspect: %w", err)
	}
	return n.PauseAddress(info), nil
}

// PauseAddress is the address of a pause container on the task network,
// or "" when it is not on it.
func (n *Network) PauseAddress(info container.InspectResponse) string {
	if info.NetworkSettings == nil {
		return ""
	}
	if ep := info.NetworkSettings.Networks[n.name]; ep != nil {
		return ep.IPAddress
	}
	return ""
}

// SparesConfig is how an agent's spares are made and removed.
type SparesConfig struct {
	// Enabled is the agent's Config.SparePause: without it Replenish
	// makes none.
	Enabled bool
	// Labels go on every spare, with LabelSpare.
	Labels map[string]string
	// Life is the agent's: once it ends no spare is made, and one being
	// made is removed.
	Life context.Context
	// Group is the agent's wait group, held while a spare is being made,
	// so that the agent's Close waits for it.
	Group *sync.WaitGroup
	// Remove removes a container, reporting what goes wrong (required).
	Remove func(ctx context.Context, id string)
	// Logf reports a spare that could not be made.
	Logf func(format string, args ...any)
	// Park, when set, is a range of the task network's subnet in which
	// no task is ever given an address, as the addresses a Fargate
	// provisioner hands out lie outside it. A spare then starts at an
	// address of Park and leaves the network once started, so that it
	// holds no address while it waits; the task that takes it has an
	// address of its own, at which the spare joins the network again
	// (Take). Without Park a spare keeps the address the engine gave it,
	// and only a task without an address of its own takes it.
	Park netip.Prefix
}

// Spares keeps one started pause container on the task network for the
// agent's next awsvpc task: starting a pause container on a user-defined
// network costs as much as a whole docker run, and a spare takes it off the
// task's way. The agent asks for the first spare (Replenish) once an awsvpc
// task is RUNNING, and for a new one each time a task has taken it; none
// outlives the agent: Close removes it, and a new agent removes those no
// task took (after a crash), which LabelSpare marks.
type Spares struct {
	n     *Network
	cfg   SparesConfig
	mu    sync.Mutex
	ready string // the started spare's ID, "" for none
	// made, while a spare is being made, is closed when that is over.
	made chan struct{}
	// owners maps the spares tasks took to the ARN of the task: the engine's
	// events about a spare carry no task label.
	owners map[string]string
}

// NewSpares returns the spares of an agent on the task network n; none is
// made until Replenish.
func NewSpares(n *Network, cfg SparesConfig) *Spares {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Life == nil {
		cfg.Life = context.Background()
	}
	if cfg.Group == nil {
		cfg.Group = &sync.WaitGroup{}
	}
	return &Spares{n: n, cfg: cfg}
}

// Own records that the task arn holds the pause container id, a spare.
func (s *Spares) Own(id, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owners == nil {
		s.owners = map[string]string{}
	}
	s.owners[id] = arn
}

// Owner is the ARN of the task that took the spare id, or "".
func (s *Spares) Owner(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners[id]
}

// Disown forgets a spare that is gone from the engine.
func (s *Spares) Disown(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.owners, id)
}

// Take hands the spare over to the task arn, whose address is want ("" for
// a task the network gives one): its ID and address. A spare being made is
// waited for, as it is further on than a pause container the task would
// begin now. It is false when there is none, when the one there no longer
// runs, and when the spare cannot be the task's: a parked spare (Park) is
// for tasks with an address of their own and joins the network at want,
// which costs a tenth of a pause container's start; any other is for
// tasks without one.
func (s *Spares) Take(ctx context.Context, arn, want string) (id, addr string, ok bool) {
	parked := s.cfg.Park.IsValid()
	if parked != (want != "") {
		return "", "", false
	}
	s.mu.Lock()
	if made := s.made; made != nil {
		s.mu.Unlock()
		select {
		case <-made:
		case <-ctx.Done():
			return "", "", false
		}
		s.mu.Lock()
	}
	id, s.ready = s.ready, ""
	s.mu.Unlock()
	if id == "" {
		return "", "", false
	}
	var err error
	if parked {
		err = s.join(ctx, id, want)
	}
	if err == nil {
		var info container.InspectResponse
		info, err = s.n.engine.ContainerInspect(ctx, id)
		if err == nil && info.State != nil && info.State.Running {
			if addr := s.n.PauseAddress(info); addr != "" && (want == "" || addr == want) {
				s.Own(id, arn)
				return id, addr, true
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		s.cfg.Logf("take the spare pause container: %v", err)
	}
	// A join cut short by a stop of the task may still complete on the
	// engine: the spare goes whatever ctx says, so that no container is
	// left holding the task's address once the task lets it go.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s.cfg.Remove(rctx, id)
	return "", "", false
}

// join puts the parked spare id on the task network at addr. Should the
// network have gone while nothing was attached to it (the parked spares of
// every agent hold no endpoint), it is made again, as for a pause
// container's start (RunPause).
func (s *Spares) join(ctx context.Context, id, addr string) error {
	leave, err := s.n.Join(ctx)
	if err != nil {
		return err
	}
	defer leave()
	for attempt := 1; ; attempt++ {
		if err := s.n.Ensure(ctx); err != nil {
			return err
		}
		nid := s.n.currentID()
		err := s.n.engine.NetworkConnect(ctx, nid, id, &network.EndpointSettings{
			NetworkID:  nid,
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: addr},
		})
		if err == nil {
			return nil
		}
		if !cerrdefs.IsNotFound(err) || attempt == networkAttempts {
			return fmt.Errorf("connect to network %s at %s: %w", s.n.name, addr, err)
		}
		s.n.Forget()
	}
}

// Replenish makes a spare in the background unless there is one. It holds
// the agent's wait group meanwhile, so the agent's Close waits for it.
func (s *Spares) Replenish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.Enabled || s.ready != "" || s.made != nil || s.cfg.Life.Err() != nil {
		return
	}
	s.made = make(chan struct{})
	s.cfg.Group.Add(1)
	go s.make()
}

func (s *Spares) make() {
	defer s.cfg.Group.Done()
	// Close does not interrupt the making: a container created but not
	// known by its ID would be left behind. It waits instead, then removes
	// the spare.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.cfg.Life), time.Minute)
	defer cancel()
	labels := map[string]string{}
	for k, v := range s.cfg.Labels {
		labels[k] = v
	}
	labels[LabelSpare] = "true"
	var id string
	var err error
	for attempt := 1; ; attempt++ {
		id, err = s.start(ctx, labels)
		// Another agent's parked spare may be starting at the address
		// drawn from Park: another is drawn.
		if err == nil || !s.cfg.Park.IsValid() || !addressInUse(err) || attempt == parkAttempts {
			break
		}
		if id != "" {
			s.cfg.Remove(ctx, id)
			id = ""
		}
	}
	if err == nil && s.cfg.Park.IsValid() {
		if err = s.n.engine.NetworkDisconnect(ctx, s.n.currentID(), id, false); err != nil {
			err = fmt.Errorf("leave network %s: %w", s.n.name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		close(s.made)
		s.made = nil
	}()
	if err != nil || s.cfg.Life.Err() != nil {
		if err != nil {
			s.cfg.Logf("make a spare pause container: %v", err)
		}
		if id != "" {
			s.cfg.Remove(ctx, id)
		}
		return
	}
	s.ready = id
}

// parkAttempts bounds the addresses of Park a spare is started at: another
// is drawn only when one is in use, by a spare of another agent starting at
// that moment.
const parkAttempts = 3

// start creates and starts a pause container on the network for a spare,
// at an address of Park when there is one.
func (s *Spares) start(ctx context.Context, labels map[string]string) (id string, err error) {
	cfg, host, netCfg := s.n.PauseConfig(labels)
	if s.cfg.Park.IsValid() {
		netCfg.EndpointsConfig[s.n.name].IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: parkAddress(s.cfg.Park).String()}
	}
	leave, err := s.n.Join(ctx)
	if err != nil {
		return "", err
	}
	defer leave()
	id, err = s.n.CreatePause(ctx, cfg, host, netCfg, "berth-spare-pause-"+randHex(6), true)
	if err == nil {
		_, err = s.n.RunPause(ctx, id, true)
	}
	return id, err
}

// parkAddress draws an address of park, neither its first nor its last.
// Each agent has one spare starting at a time, and it holds the address
// only until it has started, so a draw rarely meets another's.
func parkAddress(park netip.Prefix) netip.Addr {
	park = park.Masked()
	base := park.Addr().As4()
	size := uint32(1) << (32 - park.Bits())
	if size < 4 {
		return park.Addr()
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(base[:])+1+binary.BigEndian.Uint32(r[:])%(size-2))
	return netip.AddrFrom4(b)
}

// addressInUse reports whether the engine refused a static address as
// another container's.
func addressInUse(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

// Close removes the spare no task took.
func (s *Spares) Close(ctx context.Context) {
	s.mu.Lock()
	id := s.ready
	s.ready = ""
	s.mu.Unlock()
	if id != "" {
		s.cfg.Remove(ctx, id)
	}
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
