package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

	key, keyed := digestKey(path, fi)
	if keyed {
		if d, ok := readDigest(key); ok {
			c.digest = d
			close(c.done)
			return c.digest, nil
		}
	}
	start := time.Now()
	c.digest, c.err = hashFile(path)
	if c.err == nil && keyed && settled(fi, start) {
		writeDigest(key, c.digest)
	}
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

// A berth binary's digest is kept on disk as well, in the user's cache
// directory, so that a process does not read and hash the whole binary
// (tens of milliseconds of a core) to learn what the last one learned:
// berth run is a process per task, and its image check needs the digest.
// An entry is named by the binary's path and what a stat says of it (size,
// modification and change times, inode): any write to the file, or
// another file in its place, changes the change time at least, and with
// it the name, so a stale entry is never found, only left behind.

// digestSettle is how long a binary must have been left alone before its
// digest is kept: the file system's clock is coarse, so a write just
// after the stat could leave the times the stat saw and other bytes.
var digestSettle = 2 * time.Second

// digestDir is where the kept digests are; "" when there is no cache
// directory.
func digestDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "berth", "binary-digests")
}

// digestKey names the entry of the binary at path, as fi describes it;
// ok is false when it cannot be kept.
func digestKey(path string, fi os.FileInfo) (key string, ok bool) {
	st, isUnix := fi.Sys().(*syscall.Stat_t)
	dir := digestDir()
	abs, err := filepath.Abs(path)
	if !isUnix || dir == "" || err != nil {
		return "", false
	}
	id := strings.Join([]string{abs, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10),
		strconv.FormatInt(st.Ctim.Sec, 10), strconv.FormatInt(st.Ctim.Nsec, 10), strconv.FormatUint(st.Dev, 10), strconv.FormatUint(st.Ino, 10)}, "\x00")
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])), true
}

// settled reports whether the binary fi describes had been left alone for
// digestSettle when its hashing began.
func settled(fi os.FileInfo, hashStart time.Time) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	changed := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	return hashStart.Sub(changed) >= digestSettle && hashStart.Sub(fi.ModTime()) >= digestSettle
}

// readDigest reads a kept digest; ok is false when there is none that
// reads as one.
func readDigest(key string) (string, bool) {
	b, err := os.ReadFile(key)
	d := string(b)
	hexPart, isSHA := strings.CutPrefix(d, "sha256:")
	if err != nil || !isSHA || len(hexPart) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return d, true
}

// writeDigest keeps a digest, whole or not at all (a rename), best
// effort: a digest not kept is hashed again next time.
func writeDigest(key, digest string) {
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(key), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(digest)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), key) != nil {
		os.Remove(f.Name())
		return
	}
	pruneDigests(filepath.Dir(key), keptDigests)
}

// keptDigests is how many kept digests the cache holds at most: one per
// berth binary a user runs, and a few more for those just replaced.
const keptDigests = 16

// pruneDigests removes all but the newest keep entries of dir (and
// temporary files a writer that died left), so that the entries of
// binaries long replaced do not pile up.
func pruneDigests(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type kept struct {
		name string
		mod  time.Time
	}
	var all []kept
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > time.Minute {
				os.Remove(filepath.Join(dir, e.Name()))
			}
			continue
		}
		all = append(all, kept{e.Name(), info.ModTime()})
	}
	if len(all) <= keep {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, k := range all[keep:] {
		os.Remove(filepath.Join(dir, k.name))
	}
}
