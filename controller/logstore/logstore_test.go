package logstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/logstore"
)

// clock ticks a millisecond at each line, so lines sort as written.
func clock() func() time.Time {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	return func() time.Time { at = at.Add(time.Millisecond); return at }
}

func open(t *testing.T, limit int64) (*logstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := logstore.Open(dir, logstore.Options{Limit: limit, Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func writer(t *testing.T, s *logstore.Store, src logstore.Source) *logstore.Writer {
	t.Helper()
	w, err := s.Writer(src)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func texts(lines []logstore.Line) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s %s\n", l.Container, l.Stream, l.Line)
	}
	return b.String()
}

func readAll(t *testing.T, s *logstore.Store, since time.Time, srcs ...logstore.Source) string {
	t.Helper()
	tail, err := s.Tail(srcs, since)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	lines, err := tail.Next()
	if err != nil {
		t.Fatal(err)
	}
	return texts(lines)
}

func TestLinesAreKeptWholeWhateverTheWritesCutThem(t *testing.T) {
	s, _ := open(t, 0)
	web := logstore.Source{Task: "t1", Container: "web", Path: "tasks/c/t1/web"}
	w := writer(t, s, web)
	for _, chunk := range []string{"hel", "lo\nwor", "ld\r\n", "\nlast without newline"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.Stderr().Write([]byte("oops\n"))
	if !s.Writing("t1") {
		t.Error("a task with an open writer is not being written")
	}
	w.CloseWithError(nil)
	if s.Writing("t1") {
		t.Error("a task whose writers are closed is still being written")
	}
	want := "web stdout hello\nweb stdout world\nweb stdout \nweb stderr oops\nweb stdout last without newline\n"
	if got := readAll(t, s, time.Time{}, web); got != want {
		t.Errorf("kept:\n%s\nwant:\n%s", got, want)
	}
}

func TestTheContainersOfATaskAreMergedByTimeAndSinceSkipsTheOlder(t *testing.T) {
	s, _ := open(t, 0)
	a := logstore.Source{Task: "t1", Container: "a", Path: "tasks/c/t1/a"}
	b := logstore.Source{Task: "t1", Container: "b", Path: "tasks/c/t1/b"}
	wa, wb := writer(t, s, a), writer(t, s, b)
	wa.Write([]byte("a1\n"))
	wb.Write([]byte("b1\n"))
	wa.Write([]byte("a2\n"))
	wa.CloseWithError(nil)
	wb.CloseWithError(nil)
	if got, want := readAll(t, s, time.Time{}, a, b), "a stdout a1\nb stdout b1\na stdout a2\n"; got != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
	// b1 was stamped 9:00:00.002.
	since := time.Date(2026, 11, 27, 9, 0, 0, 2e6, time.UTC)
	if got, want := readAll(t, s, since, a, b), "b stdout b1\na stdout a2\n"; got != want {
		t.Errorf("since b1:\n%s\nwant:\n%s", got, want)
	}
}

// The newest output is kept within the limit: a container that writes
// past it loses its oldest lines, and a tail following it meanwhile reads
// every line once, across the rotations.
func TestTheNewestOutputIsKeptWithinTheLimit(t *testing.T) {
	const limit = 4096
	s, dir := open(t, limit)
	src := logstore.Source{Task: "t1", Container: "web", Path: "tasks/c/t1/web"}
	w := writer(t, s, src)
	tail, err := s.Tail([]logstore.Source{src}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	var followed []logstore.Line
	const count = 500
	for i := range count {
		fmt.Fprintf(w, "line %04d\n", i)
		if i%7 == 0 { // the tail reads now and then, as a follower does
			lines, err := tail.Next()
			if err != nil {
				t.Fatal(err)
			}
			followed = append(followed, lines...)
		}
	}
	w.CloseWithError(nil)
	lines, err := tail.Next()
	if err != nil {
		t.Fatal(err)
	}
	followed = append(followed, lines...)
	if len(followed) != count {
		t.Fatalf("the tail read %d lines, want %d", len(followed), count)
	}
	for i, l := range followed {
		if want := fmt.Sprintf("line %04d", i); l.Line != want {
			t.Fatalf("line %d of the tail is %q, want %q", i, l.Line, want)
		}
	}

	var size int64
	for _, name := range []string{"web", "web.1"} {
		info, err := os.Stat(filepath.Join(dir, "tasks", "c", "t1", name))
		if err != nil {
			t.Fatal(err)
		}
		size += info.Size()
	}
	if size > limit || size < limit/2 {
		t.Errorf("%d bytes kept, want between %d and %d", size, limit/2, limit)
	}
	kept := strings.Split(strings.TrimSpace(readAll(t, s, time.Time{}, src)), "\n")
	if last := kept[len(kept)-1]; last != fmt.Sprintf("web stdout line %04d", count-1) {
		t.Errorf("the newest line kept is %q", last)
	}
	if first := kept[0]; first == "web stdout line 0000" {
		t.Error("the oldest line is still kept past the limit")
	}
}

func TestRemoveTakesTheOutputAndTheEmptyDirectories(t *testing.T) {
	s, dir := open(t, 256)
	src := logstore.Source{Task: "t1", Container: "web", Path: "tasks/c/t1/web"}
	other := logstore.Source{Task: "t2", Container: "web", Path: "tasks/c/t2/web"}
	for _, x := range []logstore.Source{src, other} {
		w := writer(t, s, x)
		fmt.Fprint(w, strings.Repeat("a line of output\n", 20)) // rotated
		w.CloseWithError(nil)
	}
	if err := s.Remove(src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tasks", "c", "t1")); !os.IsNotExist(err) {
		t.Errorf("the task's directory is left: %v", err)
	}
	if got := readAll(t, s, time.Time{}, other); got == "" {
		t.Error("removing one task's output removed another's")
	}
}

func TestAPathOutsideTheStoreIsRefused(t *testing.T) {
	s, _ := open(t, 0)
	for _, path := range []string{"../escape", "/etc/passwd", "", "a/../../b"} {
		if _, err := s.Writer(logstore.Source{Task: "t", Container: "c", Path: path}); err == nil {
			t.Errorf("path %q was taken", path)
		}
	}
}

// Lines read later (from the engine's logs, after a restart) keep the time
// they are given, and Newest is where such reading starts again.
func TestLinesOfAnotherTimeAndTheNewestKept(t *testing.T) {
	s, _ := open(t, 0)
	src := logstore.Source{Task: "t1", Container: "web", Path: "tasks/c/t1/web"}
	if newest, err := s.Newest(src); err != nil || !newest.IsZero() {
		t.Errorf("newest of nothing kept: %v, %v", newest, err)
	}
	w := writer(t, s, src)
	fmt.Fprint(w, "before\n") // stamped 9:00:00.001
	w.CloseWithError(nil)
	later := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	w = writer(t, s, src)
	if err := w.Line("stderr", later, "while no server ran"); err != nil {
		t.Fatal(err)
	}
	w.CloseWithError(nil)
	if newest, err := s.Newest(src); err != nil || !newest.Equal(later) {
		t.Errorf("newest: %v, %v; want %v", newest, err, later)
	}
	if got, want := readAll(t, s, time.Time{}, src), "web stdout before\nweb stderr while no server ran\n"; got != want {
		t.Errorf("kept:\n%s\nwant:\n%s", got, want)
	}
}
