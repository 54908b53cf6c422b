package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/moby/term"
)

// progressKey carries, in a context, where builds show their progress.
type progressKey struct{}

// WithProgress returns ctx with w as where the builds made under it show
// their progress: on a terminal, one line a build, rewritten in place as
// the image's archive goes to the engine ("building berth/demo:latest …
// 12 MB") and cleared once it is loaded; when w is no terminal (piped,
// a file), nothing at all. A nil w shows nothing.
func WithProgress(ctx context.Context, w io.Writer) context.Context {
	if w == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, w)
}

// progressOf is the build line of ref shown where ctx says, or one that
// shows nothing.
func progressOf(ctx context.Context, ref string) *buildLine {
	w, _ := ctx.Value(progressKey{}).(io.Writer)
	return newBuildLine(w, ref, isTerminal(w))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// buildLine is a build's progress line. It is rewritten each time another
// whole megabyte has gone to the engine, so that a terminal gets a few
// dozen writes a build, not one for each chunk of the archive.
type buildLine struct {
	mu      sync.Mutex
	w       io.Writer // nil: nothing is shown
	ref     string
	written int64
	shown   int64 // the megabytes shown, -1 before the first line
	ended   bool
}

// newBuildLine shows ref's progress on w when tty says w is a terminal.
func newBuildLine(w io.Writer, ref string, tty bool) *buildLine {
	if !tty {
		w = nil
	}
	return &buildLine{w: w, ref: ref, shown: -1}
}

// add counts n more bytes of the archive sent.
func (l *buildLine) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.written += int64(n)
	if l.w == nil || l.ended {
		return
	}
	if mb := l.written / 1e6; mb != l.shown {
		l.shown = mb
		fmt.Fprintf(l.w, "\r\033[Kbuilding %s … %d MB", l.ref, mb)
	}
}

// done clears the line: the build is over, and what follows it (the
// caller's own line, an error) takes its place.
func (l *buildLine) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil && !l.ended && l.shown >= 0 {
		fmt.Fprint(l.w, "\r\033[K")
	}
	l.ended = true
}

// countingWriter counts what goes through it on a build line.
type countingWriter struct {
	w    io.Writer
	line *buildLine
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.line.add(n)
	return n, err
}
