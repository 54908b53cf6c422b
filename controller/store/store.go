// Package store keeps berth's state in one bbolt file: one bucket per kind
// of object, every change in one transaction, so a crash leaves either the
// whole change or none of it.
package store

import (
	"context"
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

// ErrLocked is returned when another berth process holds the store for
// longer than the lock wait.
var ErrLocked = errors.New("the state store is in use by another berth process")

// CorruptError is a state file bbolt cannot read. It names the file and
// what to do about it, since berth cannot repair it.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("the state store %s cannot be read (%v); move it aside to start with an empty one, which forgets the registered task definitions and the tasks berth run keeps track of: mv %s %s.corrupt",
		e.Path, e.Err, e.Path, e.Path)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Store is berth's state on disk.
type Store struct {
	db *bolt.DB
	// watch are those told of the tasks' changes (WatchTasks).
	watch taskWatchers
}

// buckets are created when a store is opened.
var buckets = [][]byte{bucketTaskDefinitions, bucketFamilies, bucketRuns, bucketClusters, bucketInstances, bucketTasks, bucketTaskBodies, bucketRunTokens, bucketMeta}

// LockWait bounds how long Open waits for another process's lock. Every
// berth process holds the store only for the few milliseconds of a
// transaction (see Update), so a wait this long means a process that holds
// it for good, such as a server.
const LockWait = 30 * time.Second

// lockWait is LockWait, shortened by tests.
var lockWait = LockWait

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

// Open opens (creating if needed) the store at path, waiting up to
// LockWait for another process's lock.
func Open(path string) (*Store, error) {
	return OpenContext(context.Background(), path)
}

// OpenContext is Open that gives up when ctx ends, so that waiting for the
// lock never keeps Ctrl-C from working.
func OpenContext(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	type opened struct {
		s   *Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := open(path)
		done <- opened{s, err}
	}()
	select {
	case o := <-done:
		return o.s, o.err
	case <-ctx.Done():
		// The open goes on until it has the lock or gives up; what it
		// opened is closed at once.
		go func() {
			if o := <-done; o.s != nil {
				o.s.Close()
			}
		}()
		return nil, fmt.Errorf("open state store %s: %w", path, ctx.Err())
	}
}

// pageSize is the size of the pages of a store created now. bbolt keeps a
// value whole in one page unless it is larger than a page, so a page holds
// a whole number of values: of 4 KiB pages (the OS's, bbolt's default),
// packed task bodies of about 1 KB fill three quarters, three to a page,
// where 16 KiB pages end 95% full, fifteen to a page. A store created
// before keeps its pages' size, which bbolt reads from the file.
const pageSize = 16 << 10

func open(path string) (*Store, error) {
	// The page size is for a file bbolt makes: one there already says its
	// own, and a file that is no store at all is read as the OS's pages,
	// so that it is found corrupt (ErrInvalid) rather than too small.
	opts := &bolt.Options{Timeout: lockWait}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		opts.PageSize = pageSize
	}
	db, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
		return nil, &CorruptError{Path: path, Err: err}
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
		return openInstanceIndexes(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise state store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the store.
func (s *Store) Close() error { return s.db.Close() }
