package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// recountedIndexes is what the instance indexes should hold, counted
// again from the records, and what a registration should find from them,
// found as the records were read before there were indexes.
type recountedIndexes struct {
	addresses map[string]string // 4 bytes -> cluster 0 ID
	regKeys   map[string]bool
	records   uint64
	// firstWithKey is the ID of the first instance, in ID order, of
	// each cluster and registration key (cluster 0 key).
	firstWithKey map[string]string
	// free is the lowest address no record has.
	free string
}

func recountIndexes(t *testing.T, tx *bolt.Tx) recountedIndexes {
	t.Helper()
	r := recountedIndexes{addresses: map[string]string{}, regKeys: map[string]bool{}, firstWithKey: map[string]string{}}
	used := map[netip.Addr]bool{}
	err := tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error {
		rec, err := decodeInstance(k, v)
		if err != nil {
			return err
		}
		r.records++
		if a, err := netip.ParseAddr(rec.HostAddress); err == nil {
			if used[a] {
				t.Errorf("two instances have %s", a)
			}
			used[a] = true
			if b := a.As4(); hostAddressIndex(b) >= 0 {
				r.addresses[string(b[:])] = string(k)
			}
		}
		if rec.Agent != nil && rec.Agent.RegistrationKey != "" {
			r.regKeys[string(append(regKeyPrefix(rec.Cluster, rec.Agent.RegistrationKey), rec.ID...))] = true
			if _, ok := r.firstWithKey[rec.Cluster+"\x00"+rec.Agent.RegistrationKey]; !ok {
				r.firstWithKey[rec.Cluster+"\x00"+rec.Agent.RegistrationKey] = rec.ID
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for a := netip.AddrFrom4([4]byte{127, 0, 0, 2}); a.As4()[2] != 0 || a.As4()[3] != 0; a = a.Next() {
		if last := a.As4()[3]; last != 0 && last != 255 && !used[a] {
			r.free = a.String()
			break
		}
	}
	return r
}

// checkInstanceIndexes fails t unless the indexes hold what a recount from
// the records makes of them, and a registration finds through them the
// address and the instances of registration keys that reading every record
// finds.
func checkInstanceIndexes(t *testing.T, s *Store, clusters, regKeys []string) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		want := recountIndexes(t, tx)
		got := map[string]string{}
		b := tx.Bucket(bucketInstanceAddresses)
		if err := b.ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil }); err != nil {
			return err
		}
		if !maps.Equal(got, want.addresses) {
			t.Errorf("the address index holds %d addresses, %q; the records %d, %q", len(got), got, len(want.addresses), want.addresses)
		}
		if int(b.Sequence()) != len(got) {
			t.Errorf("the address index counts %d addresses, holds %d", b.Sequence(), len(got))
		}
		keys := map[string]bool{}
		if err := tx.Bucket(bucketInstanceRegKeys).ForEach(func(k, _ []byte) error { keys[string(k)] = true; return nil }); err != nil {
			return err
		}
		if !maps.Equal(keys, want.regKeys) {
			t.Errorf("the registration key index holds %q; the records %q", slices.Sorted(maps.Keys(keys)), slices.Sorted(maps.Keys(want.regKeys)))
		}
		if n := indexedInstances(tx); n != want.records {
			t.Errorf("the indexes count %d records; the store holds %d", n, want.records)
		}
		if free, err := freeHostAddress(tx); err != nil || free != want.free {
			t.Errorf("the free host address is %s (%v), want %s", free, err, want.free)
		}
		for _, cluster := range clusters {
			for _, key := range regKeys {
				first, ok := want.firstWithKey[cluster+"\x00"+key]
				got, err := instanceWithKey(tx, cluster, key)
				switch {
				case !ok && !errors.Is(err, ErrNotFound):
					t.Errorf("key %q in %s: instance %s (%v), want none", key, cluster, got.ID, err)
				case ok && (err != nil || got.ID != first):
					t.Errorf("key %q in %s: instance %s (%v), want %s", key, cluster, got.ID, err, first)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHostAddressPlacesAreTheAddressesInstancesAreGivenInOrder(t *testing.T) {
	i := 0
	for a := netip.AddrFrom4([4]byte{127, 0, 0, 0}); a.As4()[1] == 0; a = a.Next() {
		b := a.As4()
		given := a.Compare(netip.MustParseAddr("127.0.0.2")) >= 0 && b[3] != 0 && b[3] != 255
		if got := hostAddressIndex(b); !given && got != -1 || given && got != i {
			t.Fatalf("%s is at place %d, want %d (given %v)", a, got, i, given)
		}
		if given {
			if at := hostAddressAt(i); at != a {
				t.Fatalf("place %d is %s, want %s", i, at, a)
			}
			i++
		}
	}
	if i != hostAddresses {
		t.Errorf("%d addresses are given, hostAddresses is %d", i, hostAddresses)
	}
	for _, other := range []string{"127.0.0.1", "127.1.0.2", "10.0.0.2"} {
		if got := hostAddressIndex(netip.MustParseAddr(other).As4()); got != -1 {
			t.Errorf("%s is at place %d, never given", other, got)
		}
	}
}

// Whatever registrations, re-registrations, deregistrations, changes of a
// registration key and removals of records (which leave free addresses
// below taken ones) come in whatever order, the indexes hold what a
// recount from the records makes of them.
func TestTheInstanceIndexesAgreeWithARecountAfterRandomChanges(t *testing.T) {
	clusters := []string{DefaultCluster, "web"}
	regKeys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k\x00", "k\x00k"}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x1ade))
			s := openTemp(t)
			s.db.NoSync = true // what is checked is in the transactions, not on the disk
			if _, _, err := s.CreateCluster(Cluster{Name: "web"}, epoch); err != nil {
				t.Fatal(err)
			}
			pick := func(from []string) string { return from[rng.IntN(len(from))] }
			id := func() string { return fmt.Sprintf("i%02d", rng.IntN(40)) }
			for step := range 400 {
				cluster, id := pick(clusters), id()
				var op string
				var err error
				switch n := rng.IntN(10); {
				case n < 3:
					op = "register the server's"
					_, err = s.RegisterContainerInstance(ContainerInstance{Cluster: cluster, ID: id}, epoch)
				case n < 6:
					key := pick(append(regKeys, ""))
					op = "register an agent's, key " + key
					_, err = s.RegisterContainerInstance(ContainerInstance{Cluster: cluster, ID: id, Agent: &RemoteAgent{Host: "h", RegistrationKey: key}}, epoch)
				case n < 7:
					op = "deregister"
					_, err = s.DeregisterContainerInstance(cluster, id, true, epoch)
				case n < 8:
					key := pick(append(regKeys, ""))
					op = "change the key to " + key
					_, err = s.UpdateContainerInstance(cluster, id, func(rec *ContainerInstance) (bool, error) {
						if rec.Agent == nil {
							return false, nil
						}
						rec.Agent.RegistrationKey = key
						return true, nil
					})
				default:
					op = "forget"
					if _, err = s.ContainerInstanceUnloaded(cluster, id); err == nil {
						forgetInstance(t, s, cluster, id)
					}
				}
				if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInstanceInactive) &&
					!errors.Is(err, ErrInstanceOfAgent) && !errors.Is(err, ErrInstanceLocal) {
					t.Fatalf("step %d, %s %s/%s: %v", step, op, cluster, id, err)
				}
				checkInstanceIndexes(t, s, clusters, regKeys)
				if t.Failed() {
					t.Fatalf("after step %d, %s %s/%s", step, op, cluster, id)
				}
			}
			// Built afresh from the records, they are the same.
			if err := s.db.Update(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucketMeta).Delete(metaIndexedInstances); err != nil {
					return err
				}
				return openInstanceIndexes(tx)
			}); err != nil {
				t.Fatal(err)
			}
			checkInstanceIndexes(t, s, clusters, regKeys)
		})
	}
}

// olderInstancesCopy is a copy of testdata/instances-unindexed.db, opened.
func olderInstancesCopy(t *testing.T) *Store {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "instances-unindexed.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A store written before the indexes opens with them built from its
// records: a new instance takes the next free address, and an agent's
// registration key registers again the instance it registered.
func TestAStoreWrittenBeforeTheInstanceIndexesRegistersAsBefore(t *testing.T) {
	s := olderInstancesCopy(t)
	older := olderStoreInstances()
	var clusters, keys []string
	for _, rec := range older {
		clusters = append(clusters, rec.Cluster)
		if rec.Agent != nil {
			keys = append(keys, rec.Agent.RegistrationKey)
		}
	}
	checkInstanceIndexes(t, s, clusters, keys)
	for _, rec := range older {
		got, err := s.ContainerInstanceUnloaded(rec.Cluster, rec.ID)
		if err != nil || got.HostAddress == "" {
			t.Fatalf("the file does not hold %s/%s with an address: %+v, %v", rec.Cluster, rec.ID, got, err)
		}
	}

	fresh, err := s.RegisterContainerInstance(agentInstance(DefaultCluster, "fresh00000000000000000000000000000", "fresh-key"), epoch)
	if err != nil || fresh.HostAddress != "127.0.0.9" {
		t.Errorf("a new instance has %s (%v), want 127.0.0.9, the first the file's seven instances left", fresh.HostAddress, err)
	}
	for _, tc := range []struct {
		cluster, key, wantID string
		want                 error
	}{
		{DefaultCluster, "key-2", "agent-2", nil},
		{"web", "key-1", "web-1", nil},
		{DefaultCluster, "key-4", "", ErrInstanceInactive},
	} {
		before, _ := s.ContainerInstanceUnloaded(tc.cluster, tc.wantID)
		got, err := s.RegisterContainerInstance(ContainerInstance{Cluster: tc.cluster, ID: "new-id-for-" + tc.key,
			Agent: &RemoteAgent{Host: "lab", RegistrationKey: tc.key}}, epoch)
		if !errors.Is(err, tc.want) || err == nil && (got.ID != tc.wantID || got.HostAddress != before.HostAddress) {
			t.Errorf("key %s in %s registered %s at %s (%v), want %s at %s (%v)", tc.key, tc.cluster, got.ID, got.HostAddress, err, tc.wantID, before.HostAddress, tc.want)
		}
	}
	checkInstanceIndexes(t, s, clusters, append(keys, "fresh-key"))
}

// A record that berth without the indexes added to a store that has them
// (an older berth, with the same state file) is found at the next opening:
// the indexes are built afresh.
func TestARecordWrittenWithoutTheIndexesIsIndexedAtTheNextOpening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, DefaultCluster, "a")
	// As berth before the indexes wrote a registration: the record alone.
	unindexed := agentInstance(DefaultCluster, "b0000000000000000000000000000000", "older-key")
	unindexed.HostAddress, unindexed.Status = "127.0.0.3", StatusActive
	if err := s.db.Update(func(tx *bolt.Tx) error {
		v, err := json.Marshal(unindexed)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketInstances).Put(instanceKey(unindexed.Cluster, unindexed.ID), v)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	checkInstanceIndexes(t, s, []string{DefaultCluster}, []string{"older-key"})
	if rec := registerInstance(t, s, DefaultCluster, "c"); rec.HostAddress != "127.0.0.4" {
		t.Errorf("the next instance has %s, want 127.0.0.4", rec.HostAddress)
	}
	again, err := s.RegisterContainerInstance(agentInstance(DefaultCluster, "d0000000000000000000000000000000", "older-key"), epoch)
	if err != nil || again.ID != unindexed.ID {
		t.Errorf("the older record's key registered %s (%v), want %s", again.ID, err, unindexed.ID)
	}
}

// Registrations at once, of new instances and of agents' keys each
// brought by two registrations, give every instance an address of its own
// and each key one instance.
func TestRegistrationsAtOnceGetAddressesOfTheirOwn(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "web"}, epoch); err != nil {
		t.Fatal(err)
	}
	const callers, each = 16, 12
	var mu sync.Mutex
	byKey := map[string]map[string]bool{}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				cluster := []string{DefaultCluster, "web"}[i%2]
				// Callers c and c^1 bring the same keys.
				key := fmt.Sprintf("key-%d-%d", c/2, i)
				rec, err := s.RegisterContainerInstance(agentInstance(cluster, fmt.Sprintf("%02d%02d%028x", c, i, 0), key), epoch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if byKey[cluster+"/"+key] == nil {
					byKey[cluster+"/"+key] = map[string]bool{}
				}
				byKey[cluster+"/"+key][rec.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for key, ids := range byKey {
		if len(ids) != 1 {
			t.Errorf("key %s registered %d instances", key, len(ids))
		}
	}
	seen := map[string]string{}
	for _, cluster := range []string{DefaultCluster, "web"} {
		recs, err := s.ContainerInstancesUnloaded(cluster)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if other, ok := seen[rec.HostAddress]; ok {
				t.Errorf("%s and %s/%s both have %s", other, cluster, rec.ID, rec.HostAddress)
			}
			seen[rec.HostAddress] = cluster + "/" + rec.ID
		}
	}
	if len(seen) != callers/2*each {
		t.Errorf("%d instances registered, want %d", len(seen), callers/2*each)
	}
	checkInstanceIndexes(t, s, []string{DefaultCluster, "web"}, nil)
}

// With every address taken the free one is ErrNoHostAddress, and with one
// of them freed, that one, however many are taken above it.
func TestTheFreeHostAddressWhenAllOrAllButOneAreTaken(t *testing.T) {
	s := openTemp(t)
	s.db.NoSync = true
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range hostAddresses {
			if err := indexAddress(tx, hostAddressAt(i).String(), []byte(fmt.Sprint("default\x00", i))); err != nil {
				return err
			}
		}
		if free, err := freeHostAddress(tx); !errors.Is(err, ErrNoHostAddress) {
			t.Errorf("with every address taken: %s, %v; want ErrNoHostAddress", free, err)
		}
		for _, i := range []int{hostAddresses - 1, 40_000, 0} {
			if err := unindexAddress(tx, hostAddressAt(i).String(), []byte(fmt.Sprint("default\x00", i))); err != nil {
				return err
			}
			if free, err := freeHostAddress(tx); err != nil || free != hostAddressAt(i).String() {
				t.Errorf("with %s freed: %s, %v", hostAddressAt(i), free, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
