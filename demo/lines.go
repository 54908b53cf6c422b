package demo

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DefaultLineWidth is the width of a line of `lines`, newline included.
const DefaultLineWidth = 100

// linesCheckEvery is how many lines `lines` writes between looks at whether
// it was asked to stop: often enough to stop promptly, seldom enough to
// cost nothing.
const linesCheckEvery = 4096

// runLines prints N numbered lines of a fixed width as fast as the reader
// takes them: enough output, checkable line by line, to show whether a
// container's output arrives whole, once and in order.
func runLines(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("lines")
	width := fs.Int("width", DefaultLineWidth, "bytes per line, newline included")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("lines", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("lines", "want one COUNT, got %d arguments", len(pos))
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 0 {
		return p.usageError("lines", "COUNT %q: want a whole number of lines, 0 or more", pos[0])
	}
	if *width < 1 {
		return p.usageError("lines", "--width %d: want 1 byte or more", *width)
	}
	w := bufio.NewWriterSize(p.stdout, 64*1024)
	for i := 1; i <= n; i++ {
		if i%linesCheckEvery == 0 && ctx.Err() != nil {
			w.Flush()
			return ExitOK
		}
		w.WriteString(Line(i, n, *width))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(p.stderr, "demo lines: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// Line is line i of `lines COUNT --width WIDTH`, without its newline: i
// with leading zeros to the width of COUNT, a space, and dots up to WIDTH
// bytes with the newline. A WIDTH too small for the number gives the
// number alone, so every line still says which it is.
func Line(i, count, width int) string {
	digits := len(strconv.Itoa(count))
	num := fmt.Sprintf("%0*d", digits, i)
	if fill := width - 1 - len(num) - 1; fill >= 0 {
		return num + " " + strings.Repeat(".", fill)
	}
	return num
}

// CompareLines says how lines differ from the output of `lines COUNT`
// (of the default width), or "" when each line is there once, in order:
// tests use it to tell whether a container's output arrived whole.
func CompareLines(lines []string, count int) string {
	seen := make(map[string]int, len(lines))
	firstWrong := -1
	for i, line := range lines {
		seen[line]++
		if firstWrong < 0 && (i >= count || line != Line(i+1, count, DefaultLineWidth)) {
			firstWrong = i
		}
	}
	if firstWrong < 0 && len(lines) == count {
		return ""
	}
	missing, repeated := 0, 0
	for i := 1; i <= count; i++ {
		switch n := seen[Line(i, count, DefaultLineWidth)]; {
		case n == 0:
			missing++
		case n > 1:
			repeated += n - 1
		}
	}
	at := "none"
	if firstWrong >= 0 {
		at = fmt.Sprintf("line %d, %.20q", firstWrong+1, lines[firstWrong])
	}
	return fmt.Sprintf("printed %d lines of %d: %d missing, %d repeated; first out of place: %s", len(lines), count, missing, repeated, at)
}
