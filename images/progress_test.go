package images

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// On a terminal, a build's line is rewritten at each whole megabyte sent,
// not at each chunk, and cleared when the build is over; what comes after
// the end is not shown.
func TestABuildLineOnATerminal(t *testing.T) {
	var term bytes.Buffer
	line := newBuildLine(&term, "berth/demo:latest", true)
	for _, n := range []int{32 << 10, 400_000, 600_000, 100, 11_000_000} {
		line.add(n)
	}
	line.done()
	line.add(5_000_000)
	line.done()
	want := "\r\033[Kbuilding berth/demo:latest … 0 MB" +
		"\r\033[Kbuilding berth/demo:latest … 1 MB" +
		"\r\033[Kbuilding berth/demo:latest … 12 MB" +
		"\r\033[K"
	if got := term.String(); got != want {
		t.Errorf("the terminal got %q\nwant %q", got, want)
	}
}

// Anywhere but on a terminal (a pipe, a file, a buffer), a build shows
// nothing; nor does one whose context names no writer.
func TestABuildLineElsewhereShowsNothing(t *testing.T) {
	var piped bytes.Buffer
	for _, line := range []*buildLine{
		progressOf(WithProgress(context.Background(), &piped), "berth/demo:latest"),
		progressOf(context.Background(), "berth/demo:latest"),
		progressOf(WithProgress(context.Background(), nil), "berth/demo:latest"),
	} {
		line.add(3_000_000)
		line.done()
	}
	if piped.Len() != 0 {
		t.Errorf("a build wrote %q where no terminal is", piped.String())
	}
	// And through the counting writer, the bytes go on unchanged.
	var sink bytes.Buffer
	line := newBuildLine(&piped, "berth/demo:latest", false)
	w := countingWriter{&sink, line}
	if _, err := w.Write([]byte(strings.Repeat("x", 2_000_000))); err != nil || sink.Len() != 2_000_000 || line.written != 2_000_000 || piped.Len() != 0 {
		t.Errorf("counting writer: %v, %d bytes through, %d counted, %q shown", err, sink.Len(), line.written, piped.String())
	}
}
