package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// digestCache remembers the sha256 of each binary by path, size and
// modification time. Ensure sits on the task-start path, and hashing a
// multi-megabyte binary on every task start would cost more than the
// Docker round trip that follows; a stat is enough to notice a rebuild.
// A hash in progress is waited for, not started again, so Prehash can
// begin it early and the first Ensure takes its result.
var digestCache = struct {
	sync.Mutex
	byPath map[string]*cachedDigest
}{byPath: map[string]*cachedDigest{}}

type cachedDigest struct {
	size    int64
	modTime time.Time
	done    chan struct{} // closed once digest and err are set
	digest  string
	err     error
}

// Prehash starts hashing the berth binary at path in the background, so
// that the first Ensure of a process (a task's start) finds the digest
// ready instead of spending the time it takes to read the binary.
func Prehash(path string) {
	go func() { _, _ = binaryDigest(path) }()
}

// binaryDigest returns "sha256:<hex>" of the file at path.
func binaryDigest(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("berth binary: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("berth binary %s: not a regular file", path)
	}
	digestCache.Lock()
	c, ok := digestCache.byPath[path]
	if !ok || c.size != fi.Size() || !c.modTime.Equal(fi.ModTime()) {
		c = &cachedDigest{size: fi.Size(), modTime: fi.ModTime(), done: make(chan struct{})}
		digestCache.byPath[path] = c
		ok = false
	}
	digestCache.Unlock()
	if ok {
		<-c.done
		return c.digest, c.err
	}

	c.digest, c.err = hashFile(path)
	if c.err != nil {
		// Not remembered: the next call tries again.
		digestCache.Lock()
		if digestCache.byPath[path] == c {
			delete(digestCache.byPath, path)
		}
		digestCache.Unlock()
	}
	close(c.done)
	return c.digest, c.err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("berth binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash berth binary %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
