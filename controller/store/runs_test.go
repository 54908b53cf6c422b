package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var errFull = errors.New("no memory left")

// TestPlaceRunNeverOverCommitsAcrossOpeners opens the store once per
// placement, as berth run processes do, and places from many at once: the
// memory recorded never exceeds what there is.
func TestPlaceRunNeverOverCommitsAcrossOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const capacity, each, placers = 10_000, 1_500, 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, refused := 0, 0
	for i := range placers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			_, err = s.PlaceRun(func(existing []Run) (Run, error) {
				used := 0
				for _, r := range existing {
					if r.Holds() {
						used += r.MemoryMiB
					}
				}
				if used+each > capacity {
					return Run{}, errFull
				}
				return Run{ARN: fmt.Sprintf("arn:task/%d", i), MemoryMiB: each, CreatedAt: time.Now()}, nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				placed++
			case errors.Is(err, errFull):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if want := capacity / each; placed != want || refused != placers-want {
		t.Errorf("placed %d and refused %d, want %d and %d", placed, refused, want, placers-want)
	}
}

func TestAStoppedRunIsForgottenUnlessKept(t *testing.T) {
	s := openTemp(t)
	for _, r := range []Run{{ARN: "a"}, {ARN: "b", Keep: true}} {
		if _, err := s.PlaceRun(func([]Run) (Run, error) { return r, nil }); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Unix(1700000000, 0)
	for _, arn := range []string{"a", "b"} {
		if err := s.RunStopped(arn, at); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ARN != "b" || runs[0].Holds() || !runs[0].StoppedAt.Equal(at) {
		t.Fatalf("runs after both stopped: %+v, want b alone, stopped at %v", runs, at)
	}
	if err := s.DeleteRuns("b"); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.Runs(); len(runs) != 0 {
		t.Errorf("after DeleteRuns: %+v", runs)
	}
}

// A file that is no store is named with what to do, whatever its size:
// shorter than a page, or longer than two of the OS's and shorter than two
// of the pages a new store gets.
func TestACorruptStateFileIsNamedWithWhatToDo(t *testing.T) {
	for _, size := range []int{64, 8704, 40000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", size/17+1)[:size]), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) || corrupt.Path != path {
				t.Fatalf("Open of a corrupt file: %v, want a CorruptError naming %s", err, path)
			}
			if want := "mv " + path + " " + path + ".corrupt"; !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		})
	}
}
