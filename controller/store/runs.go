package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketRuns maps a task ARN to the Run record of the berth run process
// that runs it on the local engine.
var bucketRuns = []byte("runs")

// Run is a task that a berth run process runs on the local engine without a
// server, and what it holds there. Berth run processes share the local
// engine as one container instance: each one places its task against the
// Runs of the others and records its own in the same transaction (PlaceRun),
// so two processes can never both take the last of the instance's memory or
// the same host port. A Run lives as long as its Owner: a later berth run
// that finds the owner gone removes the task from the engine and then the
// record (Keep tasks once their cleanup wait has passed).
type Run struct {
	ARN        string `json:"arn"`
	Cluster    string `json:"cluster"`
	Family     string `json:"family"`
	Revision   int    `json:"revision"`
	LaunchType string `json:"launchType"`
	Group      string `json:"group"`
	// Owner names the berth run process (see cmd/berth: run/HOST/BOOT/PID).
	Owner string `json:"owner"`
	// Keep is set for berth run --keep: the stopped task stays on the
	// engine until its cleanup wait has passed.
	Keep bool `json:"keep,omitempty"`
	// HostIP is the address the task's host ports bind to.
	HostIP string `json:"hostIP"`
	// CPU, MemoryMiB and the ports are what the task holds on the
	// instance (for a Fargate task only its ports, which it has none of).
	CPU       int       `json:"cpu,omitempty"`
	MemoryMiB int       `json:"memoryMiB,omitempty"`
	TCPPorts  []uint16  `json:"tcpPorts,omitempty"`
	UDPPorts  []uint16  `json:"udpPorts,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// StoppedAt is set once the task has stopped; from then on it holds
	// nothing.
	StoppedAt *time.Time `json:"stoppedAt,omitempty"`
}

// Holds reports whether the run's task still holds its resources.
func (r Run) Holds() bool { return r.StoppedAt == nil }

// Runs lists every Run record.
func (s *Store) Runs() ([]Run, error) {
	var out []Run
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = allRuns(tx)
		return err
	})
	return out, err
}

// PlaceRun decides and records a new Run in one transaction: decide sees
// every Run recorded so far and returns the Run to record, or an error that
// records nothing. No other process can record a Run between what decide
// saw and the commit.
func (s *Store) PlaceRun(decide func(existing []Run) (Run, error)) (Run, error) {
	var placed Run
	err := s.db.Update(func(tx *bolt.Tx) error {
		existing, err := allRuns(tx)
		if err != nil {
			return err
		}
		if placed, err = decide(existing); err != nil {
			return err
		}
		return putRun(tx, placed)
	})
	if err != nil {
		return Run{}, err
	}
	return placed, nil
}

// RunStopped records that a Run's task has stopped at: it holds nothing any
// more. A Run not kept is deleted instead, as nothing is left to clean up.
func (s *Store) RunStopped(arn string, at time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		v := b.Get([]byte(arn))
		if v == nil {
			return nil
		}
		var r Run
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("corrupt run record %s: %w", arn, err)
		}
		if !r.Keep {
			return b.Delete([]byte(arn))
		}
		at = at.UTC()
		r.StoppedAt = &at
		return putRun(tx, r)
	})
}

// DeleteRuns deletes the Run records of arns.
func (s *Store) DeleteRuns(arns ...string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		for _, arn := range arns {
			if err := b.Delete([]byte(arn)); err != nil {
				return err
			}
		}
		return nil
	})
}

func allRuns(tx *bolt.Tx) ([]Run, error) {
	var out []Run
	err := tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
		var r Run
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("corrupt run record %s: %w", k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func putRun(tx *bolt.Tx, r Run) error {
	if r.ARN == "" {
		return fmt.Errorf("record a run: the task ARN is required")
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRuns).Put([]byte(r.ARN), v)
}
