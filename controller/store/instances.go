package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketInstances maps cluster + 0 + instance ID to a ContainerInstance
// record, so that a cluster's instances list under one prefix, in ID
// order. A deregistered instance stays, INACTIVE, as ECS keeps describing
// it for a while.
var bucketInstances = []byte("container-instances")

// Container instance statuses beside StatusActive and StatusInactive.
const StatusDraining = "DRAINING"

// Errors of the container instance operations; the controller turns each
// into ECS's exception.
var (
	// ErrInstanceHasTasks: DeregisterContainerInstance without force of an
	// instance that tasks run on.
	ErrInstanceHasTasks = errors.New("the container instance has tasks")
	// ErrInstanceInactive: the instance was deregistered and can no longer
	// change.
	ErrInstanceInactive = errors.New("the container instance is inactive")
	// ErrNoHostAddress: every loopback host address is taken.
	ErrNoHostAddress = errors.New("no loopback host address is free")
	// ErrInstanceOfAgent: the instance is a berth agent's, which alone
	// registers it again (AgentInstanceError says which agent).
	ErrInstanceOfAgent = errors.New("the container instance is a berth agent's")
	// ErrInstanceLocal: the instance runs on the server's own engine, and
	// no berth agent may register it as its own.
	ErrInstanceLocal = errors.New("the container instance runs on the server's engine")
)

// AgentInstanceError is a registration without an agent of an instance a
// berth agent runs: Agent is where that agent is.
type AgentInstanceError struct {
	Agent RemoteAgent
}

func (e *AgentInstanceError) Error() string {
	return fmt.Sprintf("%v (host %s, engine %s)", ErrInstanceOfAgent, e.Agent.Host, e.Agent.Engine)
}

func (e *AgentInstanceError) Is(target error) bool { return target == ErrInstanceOfAgent }

// ContainerInstance is a container instance the controller owns: what it
// registered with, its status and its place on this host. The agent that
// runs its tasks reads it; what its tasks hold is not kept here but added
// up from their records (Load).
type ContainerInstance struct {
	Cluster       string `json:"cluster"`
	ID            string `json:"id"`
	EC2InstanceID string `json:"ec2InstanceId"`
	// HostAddress is the instance's own loopback address (127.0.x.y,
	// never 127.0.0.1), unique among the stored instances: its tasks'
	// host ports bind there, so two instances can each hold port 80.
	HostAddress    string     `json:"hostAddress"`
	Status         string     `json:"status"`
	AgentConnected bool       `json:"agentConnected"`
	Version        int64      `json:"version"`
	RegisteredAt   time.Time  `json:"registeredAt"`
	DeregisteredAt *time.Time `json:"deregisteredAt,omitempty"`
	Registered     Resources  `json:"registered"`
	// Attributes maps a name to its value; "" is an attribute without one.
	Attributes  map[string]string `json:"attributes,omitempty"`
	VersionInfo VersionInfo       `json:"versionInfo"`
	Tags        []Tag             `json:"tags,omitempty"`
	// Agent is set for an instance whose agent connects to the server
	// from elsewhere (berth agent), and nil for one of the server's own
	// engine.
	Agent *RemoteAgent `json:"agent,omitempty"`
	// Load is what the instance's tasks hold, added up when the record is
	// read; it is never stored.
	Load InstanceLoad `json:"-"`
}

// RemoteAgent is where an instance's agent runs and what the server last
// heard of it.
type RemoteAgent struct {
	// Host is the name of the agent's host; Engine the Docker engine it
	// drives there.
	Host   string `json:"host"`
	Engine string `json:"engine"`
	// EngineReachable is false while the agent says its engine does not
	// answer: the instance then takes no new tasks.
	EngineReachable bool `json:"engineReachable"`
	// LastHeard is when the server last heard from the agent, as of the
	// last change of the record (the server keeps the latest in memory).
	LastHeard time.Time `json:"lastHeard"`
	// EngineAPIVersion is the Docker API version of the agent's engine,
	// which the instance's capability attributes follow.
	EngineAPIVersion string `json:"engineApiVersion,omitempty"`
	// RegistrationKey is the key the agent made, and kept, before it first
	// registered: a registration that names no instance but brings the
	// key of one registers that one again, so that an agent whose first
	// answer was lost is not two instances.
	RegistrationKey string `json:"registrationKey,omitempty"`
}

// Resources are what an instance offers: CPU units, MiB of memory and the
// TCP and UDP host ports that are never free for tasks.
type Resources struct {
	CPU       int64    `json:"cpu"`
	MemoryMiB int64    `json:"memoryMiB"`
	TCPPorts  []uint16 `json:"tcpPorts,omitempty"`
	UDPPorts  []uint16 `json:"udpPorts,omitempty"`
}

// VersionInfo is the agent's and Docker's version on an instance.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// InstanceLoad is what the tasks on an instance hold: how many run and
// wait to, and the resources and host ports taken.
type InstanceLoad struct {
	Running, Pending int
	Held             Resources
}

// Add is the sum of l and o: what the tasks of both hold.
func (l InstanceLoad) Add(o InstanceLoad) InstanceLoad {
	l.Running += o.Running
	l.Pending += o.Pending
	l.Held.CPU += o.Held.CPU
	l.Held.MemoryMiB += o.Held.MemoryMiB
	l.Held.TCPPorts = append(append([]uint16(nil), l.Held.TCPPorts...), o.Held.TCPPorts...)
	l.Held.UDPPorts = append(append([]uint16(nil), l.Held.UDPPorts...), o.Held.UDPPorts...)
	return l
}

// instanceLoaders add up what one kind of object holds on an instance,
// in the reading transaction. The task bucket adds itself here; until it
// does, instances hold nothing, run nothing and deregister freely.
var instanceLoaders []func(tx *bolt.Tx, cluster, id string) (InstanceLoad, error)

func init() {
	clusterHolders = append(clusterHolders, clusterHolder{holds: clusterHasInstances, err: ErrClusterHasInstances})
}

// clusterHasInstances: ECS refuses to delete a cluster while instances are
// registered with it, ACTIVE or DRAINING.
func clusterHasInstances(tx *bolt.Tx, cluster string) (bool, error) {
	held := false
	err := forEachInstance(tx, cluster, func(rec ContainerInstance) error {
		if rec.Status != StatusInactive {
			held = true
		}
		return nil
	})
	return held, err
}

func instanceKey(cluster, id string) []byte {
	return append(append([]byte(cluster), 0), id...)
}

// RegisterContainerInstance stores rec as an ACTIVE instance of
// rec.Cluster, in one transaction that also creates the default cluster
// when it is named and missing, as ECS does. An instance of the same ID
// there already is registered again: it keeps its EC2 instance ID, host
// address, registration time, status (a DRAINING instance stays so) and
// tags (unless rec brings some) and its version goes up, as a
// restarted ECS agent keeps its ARN. A new one gets a free host address.
// An agent's registration that names no instance registers again the one
// its RegistrationKey registered. Who runs an instance does not change:
// an agent's instance registered without one is an AgentInstanceError,
// the server's own registered with one ErrInstanceLocal.
// It answers ErrNotFound for a missing cluster, ErrClusterInactive for a
// deleted one and ErrInstanceInactive for a deregistered instance.
func (s *Store) RegisterContainerInstance(rec ContainerInstance, now time.Time) (ContainerInstance, error) {
	return s.registerInstance(rec, now, true)
}

// RegisterContainerInstanceUnloaded is RegisterContainerInstance without
// the instance's Load (zero), which takes a walk over every task of the
// cluster: for a caller that keeps the loads itself as the tasks change
// (WatchTasks), as a berth agent's Hello reads its instance's.
func (s *Store) RegisterContainerInstanceUnloaded(rec ContainerInstance, now time.Time) (ContainerInstance, error) {
	return s.registerInstance(rec, now, false)
}

func (s *Store) registerInstance(rec ContainerInstance, now time.Time, loaded bool) (ContainerInstance, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := activeCluster(tx, rec.Cluster, now); err != nil {
			return err
		}
		return putRegistration(tx, &rec, now, loaded)
	})
	if err != nil {
		return ContainerInstance{}, fmt.Errorf("register container instance %s/%s: %w", rec.Cluster, rec.ID, err)
	}
	return rec, nil
}

// RegisterFirstContainerInstance registers rec, as RegisterContainerInstance
// does, only when its cluster has no instance that is not INACTIVE; the
// check and the registration are one transaction, so that of many callers
// at once, one registers. registered says whether rec was.
func (s *Store) RegisterFirstContainerInstance(rec ContainerInstance, now time.Time) (_ ContainerInstance, registered bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := activeCluster(tx, rec.Cluster, now); err != nil {
			return err
		}
		err := forEachInstance(tx, rec.Cluster, func(other ContainerInstance) error {
			if other.Status != StatusInactive {
				return errHasInstance
			}
			return nil
		})
		switch {
		case errors.Is(err, errHasInstance):
			return nil
		case err != nil:
			return err
		}
		registered = true
		return putRegistration(tx, &rec, now, true)
	})
	if err != nil {
		return ContainerInstance{}, false, fmt.Errorf("register container instance %s/%s: %w", rec.Cluster, rec.ID, err)
	}
	return rec, registered, nil
}

// errHasInstance ends a walk over a cluster's instances at the first that
// is not INACTIVE.
var errHasInstance = errors.New("the cluster has an instance")

// putRegistration is the registration of RegisterContainerInstance, in tx;
// with loaded, rec's Load is added up.
func putRegistration(tx *bolt.Tx, rec *ContainerInstance, now time.Time, loaded bool) error {
	var was *indexed
	old, err := getInstance(tx, rec.Cluster, rec.ID)
	if errors.Is(err, ErrNotFound) && rec.Agent != nil && rec.Agent.RegistrationKey != "" {
		old, err = instanceWithKey(tx, rec.Cluster, rec.Agent.RegistrationKey)
		if err == nil {
			rec.ID = old.ID
		}
	}
	switch {
	case err == nil:
		if old.Status == StatusInactive {
			return ErrInstanceInactive
		}
		ix := indexedOf(&old)
		was = &ix
		// Who runs an instance does not change by registering it
		// again: an agent's stays its agent's, the server's its own.
		switch {
		case old.Agent != nil && rec.Agent == nil:
			return &AgentInstanceError{Agent: *old.Agent}
		case old.Agent == nil && rec.Agent != nil:
			return ErrInstanceLocal
		case old.Agent != nil && rec.Agent.RegistrationKey == "":
			rec.Agent.RegistrationKey = old.Agent.RegistrationKey
		}
		rec.EC2InstanceID, rec.HostAddress, rec.Version = old.EC2InstanceID, old.HostAddress, old.Version
		rec.RegisteredAt, rec.Status = old.RegisteredAt, old.Status
		if rec.Tags == nil {
			rec.Tags = old.Tags
		}
	case errors.Is(err, ErrNotFound):
		if rec.HostAddress, err = freeHostAddress(tx); err != nil {
			return err
		}
		rec.RegisteredAt, rec.Status = now.UTC(), StatusActive
	default:
		return err
	}
	rec.DeregisteredAt = nil
	rec.Version++
	if err := putInstance(tx, was, *rec); err != nil || !loaded {
		return err
	}
	rec.Load, err = loadOf(tx, rec.Cluster, rec.ID)
	return err
}

// instanceWithKey is the instance of cluster whose agent registered it
// with key (the first in ID order, should there be more), or ErrNotFound.
func instanceWithKey(tx *bolt.Tx, cluster, key string) (ContainerInstance, error) {
	prefix := regKeyPrefix(cluster, key)
	k, _ := tx.Bucket(bucketInstanceRegKeys).Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return ContainerInstance{}, ErrNotFound
	}
	return getInstance(tx, cluster, string(k[len(prefix):]))
}

// activeCluster checks that the cluster name is ACTIVE. The default
// cluster is created when it is missing or deleted, as CreateCluster of
// the name would: it is the cluster of whoever names none.
func activeCluster(tx *bolt.Tx, name string, now time.Time) error {
	c, err := getCluster(tx, name)
	switch {
	case name == DefaultCluster && (errors.Is(err, ErrNotFound) || err == nil && c.Status != StatusActive):
		return putCluster(tx, Cluster{Name: name, Status: StatusActive, CreatedAt: now.UTC()})
	case err != nil:
		return err
	case c.Status != StatusActive:
		return ErrClusterInactive
	}
	return nil
}

// DefaultCluster is the cluster ECS uses when none is named, created on
// first use by RegisterContainerInstance.
const DefaultCluster = "default"

// ContainerInstance returns the instance id of cluster, with its load.
func (s *Store) ContainerInstance(cluster, id string) (ContainerInstance, error) {
	return s.containerInstance(cluster, id, true)
}

// ContainerInstanceUnloaded is ContainerInstance without its Load, which
// takes a walk over the cluster's tasks: for who needs the instance, not
// what it holds (the agent a task runs with, say, at a server's start,
// once for each of ten thousand tasks).
func (s *Store) ContainerInstanceUnloaded(cluster, id string) (ContainerInstance, error) {
	return s.containerInstance(cluster, id, false)
}

func (s *Store) containerInstance(cluster, id string, loaded bool) (ContainerInstance, error) {
	var rec ContainerInstance
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getInstance(tx, cluster, id); err != nil || !loaded {
			return err
		}
		rec.Load, err = loadOf(tx, cluster, id)
		return err
	})
	if err != nil {
		return ContainerInstance{}, fmt.Errorf("container instance %s/%s: %w", cluster, id, err)
	}
	return rec, nil
}

// ContainerInstances lists the instances of cluster in ID order, each with
// its load, read in one transaction.
func (s *Store) ContainerInstances(cluster string) ([]ContainerInstance, error) {
	var out []ContainerInstance
	err := s.db.View(func(tx *bolt.Tx) error {
		return forEachInstance(tx, cluster, func(rec ContainerInstance) error {
			var err error
			rec.Load, err = loadOf(tx, cluster, rec.ID)
			out = append(out, rec)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list container instances of %s: %w", cluster, err)
	}
	return out, nil
}

// ContainerInstancesUnloaded lists the instances of cluster in ID order
// without their loads (Load is zero): for a reader that keeps the loads
// itself as the tasks change (WatchTasks), rather than read every task of
// the cluster for each instance.
func (s *Store) ContainerInstancesUnloaded(cluster string) ([]ContainerInstance, error) {
	var out []ContainerInstance
	err := s.db.View(func(tx *bolt.Tx) error {
		return forEachInstance(tx, cluster, func(rec ContainerInstance) error {
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list container instances of %s: %w", cluster, err)
	}
	return out, nil
}

// RegisteredInstances counts the instances registered with cluster,
// ACTIVE or DRAINING, as ECS's registeredContainerInstancesCount does.
func (s *Store) RegisteredInstances(cluster string) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return forEachInstance(tx, cluster, func(rec ContainerInstance) error {
			if rec.Status != StatusInactive {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("count container instances of %s: %w", cluster, err)
	}
	return n, nil
}

// UpdateContainerInstance changes the instance id of cluster with update,
// in one transaction, and counts its version up when update changed
// something (reports true). An error of update is returned as it is and
// nothing changes. A deregistered instance is ErrInstanceInactive.
func (s *Store) UpdateContainerInstance(cluster, id string, update func(*ContainerInstance) (bool, error)) (ContainerInstance, error) {
	var rec ContainerInstance
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getInstance(tx, cluster, id); err != nil {
			return err
		}
		if rec.Status == StatusInactive {
			return ErrInstanceInactive
		}
		if rec.Load, err = loadOf(tx, cluster, id); err != nil {
			return err
		}
		was := indexedOf(&rec)
		changed, err := update(&rec)
		if err != nil || !changed {
			return err
		}
		rec.Version++
		return putInstance(tx, &was, rec)
	})
	if err != nil {
		return ContainerInstance{}, fmt.Errorf("update container instance %s/%s: %w", cluster, id, err)
	}
	return rec, nil
}

// DeregisterContainerInstance makes the instance INACTIVE. Without force
// it answers ErrInstanceHasTasks while tasks run or wait on it, as ECS
// refuses; with force those tasks are left to the task scheduler, which
// stops them. Deregistering an INACTIVE instance answers
// ErrInstanceInactive.
func (s *Store) DeregisterContainerInstance(cluster, id string, force bool, now time.Time) (ContainerInstance, error) {
	return s.UpdateContainerInstance(cluster, id, func(rec *ContainerInstance) (bool, error) {
		if !force && rec.Load.Running+rec.Load.Pending > 0 {
			return false, ErrInstanceHasTasks
		}
		at := now.UTC()
		rec.Status, rec.DeregisteredAt = StatusInactive, &at
		return true, nil
	})
}

func loadOf(tx *bolt.Tx, cluster, id string) (InstanceLoad, error) {
	var total InstanceLoad
	for _, load := range instanceLoaders {
		l, err := load(tx, cluster, id)
		if err != nil {
			return InstanceLoad{}, err
		}
		total = total.Add(l)
	}
	return total, nil
}

func forEachInstance(tx *bolt.Tx, cluster string, fn func(ContainerInstance) error) error {
	prefix := instanceKey(cluster, "")
	c := tx.Bucket(bucketInstances).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rec, err := decodeInstance(k, v)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

func getInstance(tx *bolt.Tx, cluster, id string) (ContainerInstance, error) {
	k := instanceKey(cluster, id)
	v := tx.Bucket(bucketInstances).Get(k)
	if v == nil {
		return ContainerInstance{}, ErrNotFound
	}
	return decodeInstance(k, v)
}

func decodeInstance(k, v []byte) (ContainerInstance, error) {
	var rec ContainerInstance
	if err := json.Unmarshal(v, &rec); err != nil {
		return ContainerInstance{}, fmt.Errorf("corrupt container instance record %q: %w", k, err)
	}
	return rec, nil
}

// putInstance stores rec, and keeps the indexes (instanceindex.go): was is
// what they held of the record before, nil when it is a new one.
func putInstance(tx *bolt.Tx, was *indexed, rec ContainerInstance) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketInstances).Put(instanceKey(rec.Cluster, rec.ID), v); err != nil {
		return err
	}
	now := indexedOf(&rec)
	return reindexInstance(tx, rec.Cluster, rec.ID, was, &now)
}
