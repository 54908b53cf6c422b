package images_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/images"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestBinaryDigestFollowsTheFileAndAgreesAcrossConcurrentCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth")
	first := make([]byte, 4<<20)
	for i := range first {
		first[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, first, 0o755); err != nil {
		t.Fatal(err)
	}

	images.Prehash(path)
	var wg sync.WaitGroup
	got := make([]string, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = images.BinaryDigest(path)
		}()
	}
	wg.Wait()
	for i, d := range got {
		if d != sha(first) {
			t.Fatalf("caller %d: digest %s, want %s", i, d, sha(first))
		}
	}

	// A rebuilt binary: other bytes, a later modification time.
	second := append([]byte("rebuilt"), first...)
	if err := os.WriteFile(path, second, 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if d, err := images.BinaryDigest(path); err != nil || d != sha(second) {
		t.Errorf("after a rebuild: %s, %v; want %s", d, err, sha(second))
	}
}

func TestBinaryDigestRemembersNoFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth")
	if _, err := images.BinaryDigest(path); err == nil {
		t.Fatal("a missing binary has a digest")
	}
	if _, err := images.BinaryDigest(filepath.Dir(path)); err == nil {
		t.Fatal("a directory has a digest")
	}
	if err := os.WriteFile(path, []byte("berth"), 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := images.BinaryDigest(path); err != nil || d != sha([]byte("berth")) {
		t.Errorf("once the binary is there: %s, %v", d, err)
	}
}

// A digest is kept on disk for the next berth process, under a name that
// any change to the binary changes: even a rewrite of the same size whose
// modification time is put back is hashed anew.
func TestBinaryDigestIsKeptForTheNextProcessUntilTheBinaryChanges(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	images.KeepDigestsAtOnce(t.Cleanup)
	t.Cleanup(images.ForgetDigests)
	path := filepath.Join(t.TempDir(), "berth")
	if err := os.WriteFile(path, []byte("first build"), 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := images.BinaryDigest(path); err != nil || d != sha([]byte("first build")) {
		t.Fatalf("first: %s, %v", d, err)
	}
	kept, err := filepath.Glob(filepath.Join(cache, "berth", "binary-digests", "*"))
	if err != nil || len(kept) != 1 {
		t.Fatalf("kept digests: %v, %v; want one", kept, err)
	}

	// The next process finds the kept digest without hashing: a kept
	// entry that says otherwise is what it answers.
	images.ForgetDigests()
	planted := sha([]byte("what the entry says"))
	if err := os.WriteFile(kept[0], []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := images.BinaryDigest(path); err != nil || d != planted {
		t.Errorf("next process: %s, %v; want the kept %s", d, err, planted)
	}

	// Other bytes of the same size, the modification time put back.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file system's clock is coarse: the rewrite is done again until
	// its change time differs from the first build's, as it does for any
	// rewrite after the few milliseconds of a build.
	for range 1000 {
		if err := os.WriteFile(path, []byte("other build"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		now, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if changeTime(now) != changeTime(fi) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	images.ForgetDigests()
	if d, err := images.BinaryDigest(path); err != nil || d != sha([]byte("other build")) {
		t.Errorf("after a rewrite: %s, %v; want %s", d, err, sha([]byte("other build")))
	}
}

func changeTime(fi os.FileInfo) syscall.Timespec {
	return fi.Sys().(*syscall.Stat_t).Ctim
}
