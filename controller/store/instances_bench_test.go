package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchAttributes are attributes of the size and number a berth agent's
// registration stores (the engine's capabilities, about forty).
var benchAttributes = func() map[string]string {
	attrs := map[string]string{"ecs.os-type": "linux", "ecs.os-family": "LINUX", "ecs.cpu-architecture": "x86_64",
		"ecs.availability-zone": "us-east-1a", "ecs.instance-type": "local"}
	for i := range 35 {
		attrs[fmt.Sprintf("com.amazonaws.ecs.capability.docker-remote-api.1.%02d", i)] = ""
	}
	return attrs
}()

// agentInstance is the record of a berth agent's instance, as a
// registration through the agent's connection stores it.
func agentInstance(cluster, id, key string) ContainerInstance {
	return ContainerInstance{Cluster: cluster, ID: id, EC2InstanceID: "i-" + id[:17], AgentConnected: true,
		Registered: Resources{CPU: 2048, MemoryMiB: 3936, TCPPorts: []uint16{22, 2375, 2376, 51678, 51679}},
		Attributes: benchAttributes, VersionInfo: VersionInfo{AgentVersion: "0.1.0", DockerVersion: "20.10.24"},
		Agent: &RemoteAgent{Host: "host-" + id[:8], Engine: "unix:///var/run/docker.sock", EngineReachable: true,
			LastHeard: epoch, EngineAPIVersion: "1.41", RegistrationKey: key}}
}

// storeInstances writes n agents' instances of cluster, each with its own
// host address, in one transaction: what n registrations leave.
func storeInstances(tb testing.TB, s *Store, cluster string, n int) {
	tb.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := activeCluster(tx, cluster, epoch); err != nil {
			return err
		}
		for i := range n {
			rec := agentInstance(cluster, fmt.Sprintf("%032x", i), fmt.Sprintf("key-%032x", i))
			rec.HostAddress, rec.Status, rec.RegisteredAt, rec.Version = hostAddressAt(i).String(), StatusActive, epoch, 1
			if err := putInstance(tx, nil, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// forgetInstance removes an instance's record, as nothing but a test
// does: the benchmark's registrations so leave the store as they found it.
func forgetInstance(tb testing.TB, s *Store, cluster, id string) {
	tb.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getInstance(tx, cluster, id)
		if err != nil {
			return err
		}
		was := indexedOf(&rec)
		if err := tx.Bucket(bucketInstances).Delete(instanceKey(cluster, id)); err != nil {
			return err
		}
		return reindexInstance(tx, cluster, id, &was, nil)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkRegisterContainerInstance is the first registration of a berth
// agent's instance (a new ID and registration key: a free host address is
// found, and the key looked for among the cluster's instances) with 100,
// 1,000 and 5,000 instances stored. Each registration is forgotten, outside
// the measured time, so that every one finds the store of its size.
func BenchmarkRegisterContainerInstance(b *testing.B) {
	for _, n := range []int{100, 1_000, 5_000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storeInstances(b, s, DefaultCluster, n)
			want := hostAddressAt(n)
			now := time.Unix(1700000000, 0)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				id := fmt.Sprintf("%032x", 1<<40+i)
				rec, err := s.RegisterContainerInstance(agentInstance(DefaultCluster, id, "new-"+id), now)
				if err != nil || rec.ID != id || rec.HostAddress != want.String() {
					b.Fatalf("registered %s at %s (%v), want %s at %s", rec.ID, rec.HostAddress, err, id, want)
				}
				b.StopTimer()
				forgetInstance(b, s, DefaultCluster, id)
				b.StartTimer()
				i++
			}
		})
	}
}
