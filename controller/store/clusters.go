package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berthdev/berth/taskdef"
)

// bucketClusters maps a cluster name to its Cluster record. A deleted
// cluster stays, INACTIVE, as ECS keeps showing it to DescribeClusters;
// creating the name again makes it ACTIVE afresh.
var bucketClusters = []byte("clusters")

// Tag is a key and an optional value on a record.
type Tag = taskdef.Tag

// Cluster is a cluster and what it was created with. What runs on it
// (instances, tasks) lives in buckets of its own, under its name.
type Cluster struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	// DeletedAt is set when DeleteCluster made it INACTIVE.
	DeletedAt *time.Time `json:"deletedAt,omitempty"`
	Tags      []Tag      `json:"tags,omitempty"`
	// Settings, Configuration, CapacityProviders and the rest are what
	// CreateCluster was given, kept as the API's JSON so that the store
	// needs no copy of every shape: berth shows them back and acts on none.
	Settings                        json.RawMessage `json:"settings,omitempty"`
	Configuration                   json.RawMessage `json:"configuration,omitempty"`
	CapacityProviders               []string        `json:"capacityProviders,omitempty"`
	DefaultCapacityProviderStrategy json.RawMessage `json:"defaultCapacityProviderStrategy,omitempty"`
	ServiceConnectDefaults          json.RawMessage `json:"serviceConnectDefaults,omitempty"`
}

// Errors DeleteCluster answers with while the cluster still holds
// something; the controller turns each into ECS's exception.
var (
	ErrClusterHasInstances = errors.New("the cluster has registered container instances")
	ErrClusterHasTasks     = errors.New("the cluster has tasks")
	// ErrClusterInactive: the cluster was deleted and can no longer change.
	ErrClusterInactive = errors.New("the cluster is inactive")
)

// clusterHolder is one kind of object that keeps a cluster from being
// deleted while the cluster holds one: holds looks in its bucket, in the
// deleting transaction, so that nothing can be added between the check
// and the delete.
type clusterHolder struct {
	holds func(tx *bolt.Tx, cluster string) (bool, error)
	err   error
}

// clusterHolders are checked by DeleteCluster in ECS's order: container
// instances first, then tasks. The buckets of instances and tasks add
// themselves here as they come.
var clusterHolders []clusterHolder

// CreateCluster stores c as an ACTIVE cluster, unless an ACTIVE cluster of
// its name exists: then it returns that one and created is false, as ECS's
// CreateCluster is idempotent on the name. An INACTIVE cluster of the name
// is replaced.
func (s *Store) CreateCluster(c Cluster, now time.Time) (rec Cluster, created bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		old, err := getCluster(tx, c.Name)
		if err == nil && old.Status == StatusActive {
			rec = old
			return nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		rec = c
		rec.Status, rec.CreatedAt, rec.DeletedAt = StatusActive, now.UTC(), nil
		created = true
		return putCluster(tx, rec)
	})
	if err != nil {
		return Cluster{}, false, fmt.Errorf("create cluster %s: %w", c.Name, err)
	}
	return rec, created, nil
}

// Cluster returns the cluster named name, ACTIVE or INACTIVE.
func (s *Store) Cluster(name string) (Cluster, error) {
	var rec Cluster
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getCluster(tx, name)
		return err
	})
	if err != nil {
		return Cluster{}, fmt.Errorf("cluster %s: %w", name, err)
	}
	return rec, nil
}

// Clusters lists the clusters of a status ("" for any) in name order.
func (s *Store) Clusters(status string) ([]Cluster, error) {
	var out []Cluster
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClusters).ForEach(func(k, v []byte) error {
			var rec Cluster
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("corrupt cluster record %q: %w", k, err)
			}
			if status == "" || rec.Status == status {
				out = append(out, rec)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	return out, nil
}

// DeleteCluster marks the ACTIVE cluster name INACTIVE; an INACTIVE one
// comes back unchanged, as ECS answers a second delete. It answers
// ErrNotFound when there is no cluster of that name, and
// ErrClusterHasInstances or ErrClusterHasTasks while it holds any.
func (s *Store) DeleteCluster(name string, now time.Time) (Cluster, error) {
	var rec Cluster
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getCluster(tx, name); err != nil {
			return err
		}
		if rec.Status != StatusActive {
			return nil
		}
		for _, h := range clusterHolders {
			held, err := h.holds(tx, name)
			if err != nil {
				return err
			}
			if held {
				return h.err
			}
		}
		at := now.UTC()
		rec.Status, rec.DeletedAt = StatusInactive, &at
		return putCluster(tx, rec)
	})
	if err != nil {
		return Cluster{}, fmt.Errorf("delete cluster %s: %w", name, err)
	}
	return rec, nil
}

// UpdateClusterTags replaces the tags of the ACTIVE cluster name with what
// update makes of them, in one transaction; an error of update is returned
// as it is and nothing changes. An INACTIVE cluster is ErrClusterInactive:
// ECS tags only active clusters.
func (s *Store) UpdateClusterTags(name string, update func([]Tag) ([]Tag, error)) (Cluster, error) {
	var rec Cluster
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getCluster(tx, name); err != nil {
			return err
		}
		if rec.Status != StatusActive {
			return ErrClusterInactive
		}
		if rec.Tags, err = update(rec.Tags); err != nil {
			return err
		}
		return putCluster(tx, rec)
	})
	if err != nil {
		return Cluster{}, fmt.Errorf("tag cluster %s: %w", name, err)
	}
	return rec, nil
}

func getCluster(tx *bolt.Tx, name string) (Cluster, error) {
	v := tx.Bucket(bucketClusters).Get([]byte(name))
	if v == nil {
		return Cluster{}, ErrNotFound
	}
	var rec Cluster
	if err := json.Unmarshal(v, &rec); err != nil {
		return Cluster{}, fmt.Errorf("corrupt cluster record %q: %w", name, err)
	}
	return rec, nil
}

func putCluster(tx *bolt.Tx, rec Cluster) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketClusters).Put([]byte(rec.Name), v)
}
