// Package store keeps berth's state in one bbolt file: one bucket per kind
// of object, every change in one transaction, so a crash leaves either the
// whole change or none of it.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrNotFound is returned when the object asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned when another berth process holds the store.
var ErrLocked = errors.New("the state store is in use by another berth process")

// Store is berth's state on disk.
type Store struct {
	db *bolt.DB
}

// buckets are created when a store is opened.
var buckets = [][]byte{bucketTaskDefinitions, bucketFamilies}

// lockWait bounds how long Open waits for another process's lock.
const lockWait = 2 * time.Second

// DefaultPath is where berth keeps its state: $BERTH_STATE_DIR, else
// $XDG_STATE_HOME/berth, else ~/.local/state/berth.
func DefaultPath() (string, error) {
	dir := os.Getenv("BERTH_STATE_DIR")
	if dir == "" {
		base := os.Getenv("XDG_STATE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the state directory: %w", err)
			}
			base = filepath.Join(home, ".local", "state")
		}
		dir = filepath.Join(base, "berth")
	}
	return filepath.Join(dir, "state.db"), nil
}

// Open opens (creating if needed) the store at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open state store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise state store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the store.
func (s *Store) Close() error { return s.db.Close() }
