package store

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var epoch = time.Unix(1700000000, 0)

func registerInstance(t *testing.T, s *Store, cluster, id string) ContainerInstance {
	t.Helper()
	rec, err := s.RegisterContainerInstance(ContainerInstance{Cluster: cluster, ID: id, Registered: Resources{CPU: 1024, MemoryMiB: 512}}, epoch)
	if err != nil {
		t.Fatalf("register %s/%s: %v", cluster, id, err)
	}
	return rec
}

func TestHostAddressesAreUniqueAndNeverBerthRunsOrANetworkOrBroadcastAddress(t *testing.T) {
	s := openTemp(t)
	seen := map[string]bool{}
	for i := range 300 {
		rec := registerInstance(t, s, DefaultCluster, fmt.Sprintf("%032x", i))
		a, err := netip.ParseAddr(rec.HostAddress)
		if err != nil || !a.IsLoopback() {
			t.Fatalf("instance %d has host address %q, want one on loopback", i, rec.HostAddress)
		}
		if last := a.As4()[3]; rec.HostAddress == "127.0.0.1" || last == 0 || last == 255 {
			t.Fatalf("instance %d has host address %s", i, a)
		}
		if seen[rec.HostAddress] {
			t.Fatalf("instance %d has %s, which another instance has", i, rec.HostAddress)
		}
		seen[rec.HostAddress] = true
	}
}

func TestRegisteringAnInstanceAgainKeepsItsAddressAndStatusAndCountsItsVersionUp(t *testing.T) {
	s := openTemp(t)
	first := registerInstance(t, s, DefaultCluster, "a")
	drained, err := s.UpdateContainerInstance(DefaultCluster, "a", func(rec *ContainerInstance) (bool, error) {
		rec.Status = StatusDraining
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	again := registerInstance(t, s, DefaultCluster, "a")
	if again.HostAddress != first.HostAddress || again.Status != StatusDraining || again.Version != drained.Version+1 {
		t.Errorf("registered again: address %s, status %s, version %d; want %s, DRAINING, %d", again.HostAddress, again.Status, again.Version, first.HostAddress, drained.Version+1)
	}
}

func TestRegisterContainerInstanceCreatesOnlyTheDefaultCluster(t *testing.T) {
	s := openTemp(t)
	registerInstance(t, s, DefaultCluster, "a")
	if c, err := s.Cluster(DefaultCluster); err != nil || c.Status != StatusActive {
		t.Errorf("default cluster: %+v, %v; want it created ACTIVE", c, err)
	}
	if _, err := s.DeregisterContainerInstance(DefaultCluster, "a", false, epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCluster(DefaultCluster, epoch); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, DefaultCluster, "b")
	if c, err := s.Cluster(DefaultCluster); err != nil || c.Status != StatusActive {
		t.Errorf("default cluster after it was deleted: %+v, %v; want it created ACTIVE again", c, err)
	}
	if _, _, err := s.CreateCluster(Cluster{Name: "gone"}, epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCluster("gone", epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterContainerInstance(ContainerInstance{Cluster: "gone", ID: "c"}, epoch); !errors.Is(err, ErrClusterInactive) {
		t.Errorf("registering with a deleted cluster: %v, want ErrClusterInactive", err)
	}
	_, err := s.RegisterContainerInstance(ContainerInstance{Cluster: "web", ID: "a"}, epoch)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("registering with a missing cluster: %v, want ErrNotFound", err)
	}
}

func TestDeleteClusterRefusesWhileInstancesAreRegistered(t *testing.T) {
	s := openTemp(t)
	registerInstance(t, s, DefaultCluster, "a")
	if _, err := s.DeleteCluster(DefaultCluster, epoch); !errors.Is(err, ErrClusterHasInstances) {
		t.Fatalf("delete with a registered instance: %v, want ErrClusterHasInstances", err)
	}
	if _, err := s.DeregisterContainerInstance(DefaultCluster, "a", false, epoch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCluster(DefaultCluster, epoch); err != nil {
		t.Errorf("delete with only a deregistered instance: %v", err)
	}
}

func TestDeregisterRefusesAnInstanceWithTasksUnlessForced(t *testing.T) {
	saved := instanceLoaders
	t.Cleanup(func() { instanceLoaders = saved })
	instanceLoaders = []func(*bolt.Tx, string, string) (InstanceLoad, error){
		func(*bolt.Tx, string, string) (InstanceLoad, error) {
			return InstanceLoad{Running: 1, Held: Resources{CPU: 256, MemoryMiB: 128, TCPPorts: []uint16{80}}}, nil
		},
	}
	s := openTemp(t)
	rec := registerInstance(t, s, DefaultCluster, "a")
	if rec.Load.Running != 1 || rec.Load.Held.CPU != 256 {
		t.Errorf("load of the registered instance: %+v, want the task's", rec.Load)
	}
	if _, err := s.DeregisterContainerInstance(DefaultCluster, "a", false, epoch); !errors.Is(err, ErrInstanceHasTasks) {
		t.Fatalf("deregister without force: %v, want ErrInstanceHasTasks", err)
	}
	rec, err := s.DeregisterContainerInstance(DefaultCluster, "a", true, epoch)
	if err != nil || rec.Status != StatusInactive || rec.DeregisteredAt == nil {
		t.Errorf("deregister with force: %+v, %v; want INACTIVE", rec, err)
	}
}

func TestContainerInstancesListOneClusterInIDOrder(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "web"}, epoch); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c", "a", "b"} {
		registerInstance(t, s, "web", id)
	}
	registerInstance(t, s, DefaultCluster, "d")
	recs, err := s.ContainerInstances("web")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[a b c]" {
		t.Errorf("instances of web: %v, want [a b c]", ids)
	}
}

// Who runs an instance does not change by registering it again, and an
// agent's registration naming no instance but a key it registered with
// before registers that one again.
func TestRegisteringAgainKeepsWhoRunsTheInstance(t *testing.T) {
	s := openTemp(t)
	registerInstance(t, s, DefaultCluster, "local")
	agentAt := func(key string) *RemoteAgent {
		return &RemoteAgent{Host: "lab", Engine: "unix:///lab.sock", RegistrationKey: key}
	}
	if _, err := s.RegisterContainerInstance(ContainerInstance{Cluster: DefaultCluster, ID: "remote", Agent: agentAt("k1")}, epoch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		rec    ContainerInstance
		wantID string
		want   error
	}{
		{"an agent's instance without its agent", ContainerInstance{ID: "remote"}, "", ErrInstanceOfAgent},
		{"the server's instance by an agent", ContainerInstance{ID: "local", Agent: agentAt("k2")}, "", ErrInstanceLocal},
		{"a new ID with a known key", ContainerInstance{ID: "fresh", Agent: agentAt("k1")}, "remote", nil},
		{"a new ID with a new key", ContainerInstance{ID: "other", Agent: agentAt("k3")}, "other", nil},
		{"the agent's instance by its agent, no key", ContainerInstance{ID: "remote", Agent: agentAt("")}, "remote", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rec.Cluster = DefaultCluster
			got, err := s.RegisterContainerInstance(tt.rec, epoch)
			if !errors.Is(err, tt.want) || err == nil && got.ID != tt.wantID {
				t.Fatalf("registered %s (%v), want %s (%v)", got.ID, err, tt.wantID, tt.want)
			}
			var ofAgent *AgentInstanceError
			if errors.As(err, &ofAgent) && ofAgent.Agent.Host != "lab" {
				t.Errorf("the error names the agent on %q, want lab", ofAgent.Agent.Host)
			}
		})
	}
	// The key stays with the instance registered again without it.
	if again, err := s.RegisterContainerInstance(ContainerInstance{Cluster: DefaultCluster, ID: "fresh2", Agent: agentAt("k1")}, epoch); err != nil || again.ID != "remote" {
		t.Errorf("the key after a registration without it: %s %v", again.ID, err)
	}
}

// Of many registrations at once of a first instance, one registers; a
// cluster whose instances are all deregistered takes one, one with a
// DRAINING instance does not.
func TestAFirstInstanceIsRegisteredOnceByCallersAtOnce(t *testing.T) {
	s := openTemp(t)
	const callers = 30
	var wg sync.WaitGroup
	var registered atomic.Int32
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := ContainerInstance{Cluster: DefaultCluster, ID: fmt.Sprintf("%032x", i), Registered: Resources{CPU: 1024, MemoryMiB: 512}}
			if _, ok, err := s.RegisterFirstContainerInstance(rec, epoch); err != nil {
				t.Error(err)
			} else if ok {
				registered.Add(1)
			}
		}()
	}
	wg.Wait()
	all, err := s.ContainerInstances(DefaultCluster)
	if err != nil {
		t.Fatal(err)
	}
	if registered.Load() != 1 || len(all) != 1 {
		t.Fatalf("%d said registered, %d stored, of %d at once: want 1", registered.Load(), len(all), callers)
	}

	if _, err := s.UpdateContainerInstance(DefaultCluster, all[0].ID, func(rec *ContainerInstance) (bool, error) {
		rec.Status = StatusDraining
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.RegisterFirstContainerInstance(ContainerInstance{Cluster: DefaultCluster, ID: fmt.Sprintf("%032x", 99)}, epoch); ok || err != nil {
		t.Errorf("beside a DRAINING instance: registered %v, %v", ok, err)
	}
	if _, err := s.DeregisterContainerInstance(DefaultCluster, all[0].ID, true, epoch); err != nil {
		t.Fatal(err)
	}
	if rec, ok, err := s.RegisterFirstContainerInstance(ContainerInstance{Cluster: DefaultCluster, ID: fmt.Sprintf("%032x", 100)}, epoch); !ok || err != nil || rec.Status != StatusActive {
		t.Errorf("beside a deregistered instance only: registered %v %+v, %v", ok, rec, err)
	}
}
