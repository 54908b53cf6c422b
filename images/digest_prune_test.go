package images

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The cache keeps the newest digests only, and removes what a writer that
// died left half-written: binaries replaced long ago do not pile up.
func TestKeptDigestsArePrunedToTheNewest(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i := range 20 {
		name := filepath.Join(dir, fmt.Sprintf("entry-%02d", i))
		if err := os.WriteFile(name, []byte("sha256:x"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := now.Add(time.Duration(i-20) * time.Hour)
		os.Chtimes(name, at, at)
	}
	stale := filepath.Join(dir, ".tmp-123")
	os.WriteFile(stale, []byte("sha"), 0o600)
	old := now.Add(-time.Hour)
	os.Chtimes(stale, old, old)
	pruneDigests(dir, 16)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 16 || names[0] != "entry-04" || names[15] != "entry-19" {
		t.Errorf("kept %v: want entry-04 to entry-19", names)
	}
}
