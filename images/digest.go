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
var digestCache = struct {
	sync.Mutex
	byPath map[string]cachedDigest
}{byPath: map[string]cachedDigest{}}

type cachedDigest struct {
	size    int64
	modTime time.Time
	digest  string
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
	digestCache.Unlock()
	if ok && c.size == fi.Size() && c.modTime.Equal(fi.ModTime()) {
		return c.digest, nil
	}

	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("berth binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash berth binary %s: %w", path, err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))

	digestCache.Lock()
	digestCache.byPath[path] = cachedDigest{size: fi.Size(), modTime: fi.ModTime(), digest: digest}
	digestCache.Unlock()
	return digest, nil
}
