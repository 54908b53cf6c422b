// Package console prints what a foreground task does, the way
// `docker compose up` does: each container's output prefixed by its name,
// and one line for every change of state.
package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Printer writes whole lines from many goroutines without interleaving
// them. Prefixes are padded to the longest name so output lines up.
type Printer struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	color bool
	hues  map[string]int
	// stamped are the prefixes whose lines begin with the time they are
	// printed at, read from now.
	stamped map[string]bool
	now     func() time.Time
}

// colours cycle through the ANSI colours that read on light and dark
// terminals alike.
var colours = []int{36, 33, 32, 35, 34, 31}

// NewPrinter prints to w. names are the containers whose output will be
// prefixed; color adds ANSI colours (for a terminal).
func NewPrinter(w io.Writer, names []string, color bool) *Printer {
	p := &Printer{w: w, color: color, hues: map[string]int{}}
	for i, n := range names {
		p.width = max(p.width, len(n))
		p.hues[n] = colours[i%len(colours)]
	}
	return p
}

// TimestampFormat is how a stamped line gives its time: UTC, RFC 3339 with
// milliseconds, always as wide.
const TimestampFormat = "2006-01-02T15:04:05.000Z07:00"

// Stamp begins every later line under prefix with the time it is printed
// at, as now tells it, in TimestampFormat.
func (p *Printer) Stamp(prefix string, now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stamped == nil {
		p.stamped = map[string]bool{}
	}
	p.stamped[prefix] = true
	p.now = now
}

// Line prints one line under a prefix (a container name, or "berth").
func (p *Printer) Line(prefix, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stamped[prefix] {
		text = p.now().UTC().Format(TimestampFormat) + " " + text
	}
	pad := strings.Repeat(" ", max(0, p.width-len(prefix)))
	if hue, ok := p.hues[prefix]; ok && p.color {
		fmt.Fprintf(p.w, "\x1b[%dm%s%s |\x1b[0m %s\n", hue, prefix, pad, text)
		return
	}
	fmt.Fprintf(p.w, "%s%s | %s\n", prefix, pad, text)
}

// Copy prints every line read from r under prefix until r ends. A last
// line without a newline is printed too, and a line longer than maxLine is
// printed in pieces of maxLine bytes rather than held whole.
func (p *Printer) Copy(prefix string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			p.Line(prefix, strings.TrimRight(string(line), "\r\n"))
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// maxLine bounds the memory one line of a container's output may take.
const maxLine = 64 * 1024
