package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// A build is serialised twice: by a mutex among the goroutines of one
// process, and by an flock(2) on a file among the processes of one machine,
// since every berth process (each `berth run`, each test binary) may find
// the same image missing at the same moment. Both are keyed by the engine
// and the kind of image, not the reference, because a build prunes every
// untagged image of its kind, and must not take one that a build under
// another reference has loaded but not yet tagged.
//
// The lock is held around the second inspect, the load and the removals,
// and nothing else: the binary is hashed and its layer listed before.

// buildLocks are the in-process half: goroutines wait on a mutex rather
// than each polling the file lock.
var buildLocks = struct {
	sync.Mutex
	m map[string]*sync.Mutex
}{m: map[string]*sync.Mutex{}}

// lockPoll is how often a process waiting for another's build tries the
// file lock again; polling, unlike a blocking flock, lets ctx end the wait.
const lockPoll = 20 * time.Millisecond

// lockBuild takes the build lock of kind k on the engine api talks to and
// returns its release.
func lockBuild(ctx context.Context, api Engine, k kind) (unlock func(), err error) {
	key := api.DaemonHost() + "\x00" + k.name
	buildLocks.Lock()
	mu, ok := buildLocks.m[key]
	if !ok {
		mu = &sync.Mutex{}
		buildLocks.m[key] = mu
	}
	buildLocks.Unlock()

	mu.Lock()
	f, err := lockFile(ctx, lockPath(api.DaemonHost(), k))
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	return func() {
		if f != nil {
			f.Close() // closing the only descriptor releases the flock
		}
		mu.Unlock()
	}, nil
}

// lockPath names the lock file of kind k on the engine at host, in the
// temporary directory every berth process of the machine shares.
func lockPath(host string, k kind) string {
	sum := sha256.Sum256([]byte(host))
	return filepath.Join(os.TempDir(), "berth-images-"+hex.EncodeToString(sum[:8])+"-"+k.name+".lock")
}

// lockFile opens path and takes an exclusive flock on it, waiting until ctx
// ends. When the file cannot be opened at all (a read-only or foreign temp
// directory) it returns a nil file and no error: builds are then serialised
// within the process only, and concurrent processes still end with one
// image, since the image is a pure function of the binary (see build).
func lockFile(ctx context.Context, path string) (*os.File, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, nil
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, nil
		}
		if !wait(ctx, lockPoll) {
			f.Close()
			return nil, fmt.Errorf("wait for another build: %w", ctx.Err())
		}
	}
}

// openLockFile opens the lock file read-only, which is all flock needs.
// It tries the file as it is before creating it: in a sticky temporary
// directory the kernel may refuse O_CREAT on a file another user made
// (fs.protected_regular), while a plain open of it is allowed.
func openLockFile(path string) (*os.File, error) {
	if f, err := os.Open(path); err == nil {
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	// Let other users' berth lock it too, whatever the umask.
	_ = f.Chmod(0o666)
	return f, nil
}

// wait waits for d unless ctx ends first, and reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
