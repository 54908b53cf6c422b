package tasknet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The task network is shared by every agent on the engine (every berth run
// process, a server's instances), and each removes it when nothing is
// attached. A removal that races a pause container's joining can leave the
// network with an endpoint no container holds, which the engine then
// refuses to remove for as long as it runs. So joining and removing take
// turns, through an flock(2) on a file of the machine's temporary
// directory keyed by the engine and the network's name: an agent holds it
// shared from making sure the network exists until its pause container has
// started on it, and removal takes it exclusive without waiting, leaving
// the network to whoever is joining it.

// leasePoll is how often a shared lease is tried again while a removal
// holds the lock; polling lets ctx end the wait.
const leasePoll = 10 * time.Millisecond

// Join takes the network's lease for a container to join it (a pause
// container, or a task's one container that needs none), and returns its
// release; the caller holds it until the container has started on the
// network. Where no lock file can be had (a temporary directory
// not ours), it goes on without one.
func (n *Network) Join(ctx context.Context) (release func(), err error) {
	f := n.leaseFile()
	if f == nil {
		return func() {}, nil
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return func() {}, nil
		}
		select {
		case <-time.After(leasePoll):
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		}
	}
}

// tryRemoval takes the network's lease for its removal, if nobody is
// joining it; ok is false when somebody is.
func (n *Network) tryRemoval() (release func(), ok bool) {
	f := n.leaseFile()
	if f == nil {
		return func() {}, true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, !errors.Is(err, syscall.EWOULDBLOCK)
	}
	return func() { f.Close() }, true
}

// leaseFile opens the network's lock file, or returns nil. A file another
// user made is opened read-only: flock needs no more.
func (n *Network) leaseFile() *os.File {
	sum := sha256.Sum256([]byte(n.engine.DaemonHost() + "\x00" + n.name))
	path := filepath.Join(os.TempDir(), "berth-network-"+hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		if f, err = os.Open(path); err != nil {
			return nil
		}
	}
	return f
}
