// Package logstore keeps the output of the containers berth server runs,
// after the containers are gone, for `berth task logs` and
// GET /v1/tasks/{taskID}/logs.
//
//	agent ─ container's stream ─► Writer (stdout) / Writer.Stderr()
//	          │ split into lines, each stamped with the time it came
//	          ▼
//	        FILE      one JSON Line a line, appended
//	        FILE.1    the older half, once FILE reached Limit/2
//	          ▲
//	Tail ─────┘ reads both, then follows FILE as the Writer appends
//
// The output is kept in files under the server's state directory, not in
// the state store: it is written a line at a time and can be large, and
// the store would make every write a transaction with an fsync, contending
// with the tasks' own state changes for bbolt's single writer, and would
// never give the space back (bbolt keeps freed pages). A file is appended
// cheaply, survives a restart of the server as the store does, and goes
// with its task (Remove).
//
// Each container keeps at most Limit bytes (DefaultLimit, 8 MiB), the
// newest: FILE grows to Limit/2, then becomes FILE.1 (the FILE.1 before it
// is dropped) and a new FILE starts, as json-file's max-size and max-file
// rotate, so between Limit/2 and Limit of the newest output is there.
package logstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// DefaultLimit is how many bytes of one container's output are kept.
const DefaultLimit = 8 << 20

// maxLine bounds one line: a longer one is kept in pieces of maxLine
// bytes, as berth run prints it.
const maxLine = 64 << 10

// Line is one line of a container's output, as it is kept and as
// GET /v1/tasks/{taskID}/logs answers it.
type Line struct {
	// Time is when berth read the line from the container.
	Time time.Time `json:"time"`
	// Container names the container in its task definition.
	Container string `json:"container"`
	// Stream is stdout or stderr (a container with a TTY has only stdout).
	Stream string `json:"stream"`
	// Line is the text, without its newline.
	Line string `json:"line"`
}

// Store keeps containers' output in files under a directory. Its methods
// are safe for concurrent use.
type Store struct {
	dir   string
	limit int64
	now   func() time.Time

	mu       sync.Mutex
	open     map[string]int                    // writers not yet closed, by task
	watchers map[string]map[chan struct{}]bool // woken at each write and close, by task
}

// Options configures a Store.
type Options struct {
	// Limit is how many bytes of each container's output are kept;
	// 0 means DefaultLimit.
	Limit int64
	// Now stamps each line; nil means time.Now.
	Now func() time.Time
}

// Open returns a store keeping its files under dir, which it creates.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("container output directory: %w", err)
	}
	return &Store{dir: dir, limit: opts.Limit, now: opts.Now, open: map[string]int{}, watchers: map[string]map[chan struct{}]bool{}}, nil
}

// Limit is how many bytes of one container's output the store keeps.
func (s *Store) Limit() int64 { return s.limit }

// Source is where one container's output is kept: its task, its name and
// its file, relative to the store's directory ("a/b" with forward
// slashes, within the directory).
type Source struct {
	Task      string
	Container string
	Path      string
}

func (s *Store) path(rel string) (string, error) {
	local := filepath.FromSlash(rel)
	if !filepath.IsLocal(local) {
		return "", fmt.Errorf("container output path %q is outside the store", rel)
	}
	return filepath.Join(s.dir, local), nil
}

// Writer keeps one container's output: it is the container's
// agent.OutputWriter, its standard output, and Stderr its standard error.
// Write, Stderr().Write and CloseWithError are called from one goroutine
// at a time (the agent's copy of the container's stream).
type Writer struct {
	s      *Store
	src    Source
	path   string
	file   *os.File
	size   int64
	err    error
	stdout lineSplitter
	stderr lineSplitter
	closed bool
}

// Writer returns the writer of a container's output, appending to what
// its file keeps already. The task counts as written to until the writer
// is closed (see Open).
func (s *Store) Writer(src Source) (*Writer, error) {
	path, err := s.path(src.Path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("output of container %s: %w", src.Container, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("output of container %s: %w", src.Container, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("output of container %s: %w", src.Container, err)
	}
	w := &Writer{s: s, src: src, path: path, file: f, size: info.Size()}
	w.stdout = lineSplitter{w: w, stream: "stdout"}
	w.stderr = lineSplitter{w: w, stream: "stderr"}
	s.mu.Lock()
	s.open[src.Task]++
	s.mu.Unlock()
	return w, nil
}

// Write keeps p as standard output.
func (w *Writer) Write(p []byte) (int, error) { return w.stdout.Write(p) }

// Stderr is the writer of the container's standard error.
func (w *Writer) Stderr() io.Writer { return &w.stderr }

// CloseWithError keeps what is left of a last line without a newline and
// closes the file. The output's incompleteness (err) is the agent's to
// report, as a warning on the task; the lines that came are kept.
func (w *Writer) CloseWithError(error) error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.stdout.flush()
	w.stderr.flush()
	cerr := w.file.Close()
	s := w.s
	s.mu.Lock()
	if s.open[w.src.Task]--; s.open[w.src.Task] <= 0 {
		delete(s.open, w.src.Task)
	}
	s.mu.Unlock()
	s.wake(w.src.Task)
	return errors.Join(w.err, cerr)
}

// lineSplitter cuts one stream into lines.
type lineSplitter struct {
	w       *Writer
	stream  string
	partial []byte
}

func (l *lineSplitter) Write(p []byte) (int, error) {
	if l.w.closed {
		return 0, os.ErrClosed
	}
	var batch bytes.Buffer
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.partial = append(l.partial, rest...)
			for len(l.partial) >= maxLine {
				l.w.record(&batch, l.stream, l.partial[:maxLine])
				l.partial = append(l.partial[:0], l.partial[maxLine:]...)
			}
			break
		}
		line := rest[:i]
		if len(l.partial) > 0 {
			line = append(l.partial, line...)
			l.partial = l.partial[:0]
		}
		for len(line) > maxLine {
			l.w.record(&batch, l.stream, line[:maxLine])
			line = line[maxLine:]
		}
		l.w.record(&batch, l.stream, bytes.TrimSuffix(line, []byte("\r")))
		rest = rest[i+1:]
	}
	l.w.flush(&batch)
	if l.w.err != nil {
		// The container's output must never wait on a full disk: the
		// agent reads on and discards, and the task carries a warning.
		return 0, l.w.err
	}
	return len(p), nil
}

// flush keeps a last line that has no newline.
func (l *lineSplitter) flush() {
	if len(l.partial) == 0 {
		return
	}
	var batch bytes.Buffer
	l.w.record(&batch, l.stream, l.partial)
	l.partial = nil
	l.w.flush(&batch)
}

// Line keeps one whole line that was read at another time: a line of the
// engine's stored logs, stamped by the engine.
func (w *Writer) Line(stream string, at time.Time, text string) error {
	if w.closed {
		return os.ErrClosed
	}
	var batch bytes.Buffer
	w.recordAt(&batch, stream, at, []byte(text))
	w.flush(&batch)
	return w.err
}

// record adds one line to batch, first writing the batch out and rotating
// the file when the line would take it over half the limit.
func (w *Writer) record(batch *bytes.Buffer, stream string, text []byte) {
	w.recordAt(batch, stream, w.s.now(), text)
}

func (w *Writer) recordAt(batch *bytes.Buffer, stream string, at time.Time, text []byte) {
	rec, err := json.Marshal(Line{Time: at.UTC(), Container: w.src.Container, Stream: stream, Line: string(text)})
	if err != nil {
		w.err = err
		return
	}
	rec = append(rec, '\n')
	if w.size+int64(batch.Len()+len(rec)) > w.s.limit/2 && w.size+int64(batch.Len()) > 0 {
		w.flush(batch)
		w.rotate()
	}
	batch.Write(rec)
}

// flush appends the batch to the file and wakes the task's tails.
func (w *Writer) flush(batch *bytes.Buffer) {
	if batch.Len() == 0 || w.err != nil {
		batch.Reset()
		return
	}
	n, err := w.file.Write(batch.Bytes())
	w.size += int64(n)
	batch.Reset()
	if err != nil {
		w.err = fmt.Errorf("keep the output of container %s: %w", w.src.Container, err)
	}
	w.s.wake(w.src.Task)
}

// rotate makes the file the older half (dropping the one before) and
// starts a new one. A tail that has the file open reads it to its end
// before it moves to the new one.
func (w *Writer) rotate() {
	if w.err != nil {
		return
	}
	w.file.Close()
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		w.err = fmt.Errorf("rotate the output of container %s: %w", w.src.Container, err)
		return
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		w.err = fmt.Errorf("rotate the output of container %s: %w", w.src.Container, err)
		return
	}
	w.file, w.size = f, 0
}

// Writing reports whether some container of task still has its writer
// open: more of its output may come.
func (s *Store) Writing(task string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[task] > 0
}

// Watch returns a channel that receives (without blocking the writer)
// each time a container of task writes or closes, and the function that
// stops it.
func (s *Store) Watch(task string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.watchers[task] == nil {
		s.watchers[task] = map[chan struct{}]bool{}
	}
	s.watchers[task][ch] = true
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.watchers[task], ch)
		if len(s.watchers[task]) == 0 {
			delete(s.watchers, task)
		}
		s.mu.Unlock()
	}
}

func (s *Store) wake(task string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.watchers[task] {
		select {
		case ch <- struct{}{}:
		default: // already woken
		}
	}
}

// Remove removes what the store keeps of the sources, and the directories
// they leave empty.
func (s *Store) Remove(srcs ...Source) error {
	var errs []error
	for _, src := range srcs {
		path, err := s.path(src.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range []string{path + ".1", path} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		// Directories left empty go too, up to the store's own.
		for dir := filepath.Dir(path); dir != s.dir && len(dir) > len(s.dir); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break // not empty, or gone
			}
		}
	}
	return errors.Join(errs...)
}

// Newest is the time of the newest line kept of src; zero when none is.
func (s *Store) Newest(src Source) (time.Time, error) {
	t, err := s.Tail([]Source{src}, time.Time{})
	if err != nil {
		return time.Time{}, err
	}
	defer t.Close()
	lines, err := t.Next()
	var newest time.Time
	for _, l := range lines {
		if l.Time.After(newest) {
			newest = l.Time
		}
	}
	return newest, err
}

// Tail reads the output of a task's containers: first everything kept
// (Next), then, while the caller follows, what the writers append.
type Tail struct {
	s     *Store
	files []*tailFile
	since time.Time
}

// tailFile reads one container's output: the older half once, then the
// file, which it keeps open so that a rotation does not lose its end.
type tailFile struct {
	s       *Store
	src     Source
	path    string
	f       *os.File
	pending []byte
}

// Tail opens the sources; lines before since are skipped (a zero since
// skips none). Close it when done.
func (s *Store) Tail(srcs []Source, since time.Time) (*Tail, error) {
	t := &Tail{s: s, since: since}
	for _, src := range srcs {
		path, err := s.path(src.Path)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.files = append(t.files, &tailFile{s: s, src: src, path: path})
	}
	return t, nil
}

// Next returns the lines kept or written since the last call, oldest
// first (the containers' lines merged by time).
func (t *Tail) Next() ([]Line, error) {
	var all []Line
	for _, f := range t.files {
		lines, err := f.next()
		if err != nil {
			return all, err
		}
		for _, l := range lines {
			if !l.Time.Before(t.since) {
				all = append(all, l)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, nil
}

// Close closes the files the tail has open.
func (t *Tail) Close() {
	for _, f := range t.files {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
	}
}

func (f *tailFile) next() ([]Line, error) {
	var out []Line
	if f.f == nil {
		// The file first, then its older half: a rotation in between
		// makes the two the same file, read once.
		cur, err := os.Open(f.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // nothing written yet
		}
		if err != nil {
			return nil, fmt.Errorf("output of container %s: %w", f.src.Container, err)
		}
		f.f = cur
		if older, err := os.Open(f.path + ".1"); err == nil {
			ci, cerr := cur.Stat()
			oi, oerr := older.Stat()
			if cerr == nil && oerr == nil && !os.SameFile(ci, oi) {
				var pending []byte
				lines, err := readLines(older, &pending)
				out = append(out, lines...)
				if err != nil {
					older.Close()
					return out, fmt.Errorf("output of container %s: %w", f.src.Container, err)
				}
			}
			older.Close()
		}
	}
	for {
		lines, err := readLines(f.f, &f.pending)
		out = append(out, lines...)
		if err != nil {
			return out, fmt.Errorf("output of container %s: %w", f.src.Container, err)
		}
		// Read to its end, the file may have been rotated away: the tail
		// goes on with the new one.
		oi, oerr := f.f.Stat()
		ci, cerr := os.Stat(f.path)
		if oerr != nil || cerr != nil || os.SameFile(oi, ci) {
			return out, nil
		}
		cur, err := os.Open(f.path)
		if err != nil {
			return out, nil // removed: nothing more will come
		}
		f.f.Close()
		f.f, f.pending = cur, nil
	}
}

// readLines reads r to its end and decodes the whole lines; a last line
// the writer has not finished stays in pending for the next read.
func readLines(r io.Reader, pending *[]byte) ([]Line, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = append(*pending, data...)
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		*pending = data
		return nil, nil
	}
	*pending = append([]byte(nil), data[end+1:]...)
	var out []Line
	for _, rec := range bytes.Split(data[:end], []byte("\n")) {
		var l Line
		if len(rec) == 0 || json.Unmarshal(rec, &l) != nil {
			continue // a line torn by a crash mid-write
		}
		out = append(out, l)
	}
	return out, nil
}
