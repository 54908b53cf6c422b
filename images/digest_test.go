package images_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
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
