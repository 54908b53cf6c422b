package demo

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

func TestLinesPrintsEveryNumberedLineOnceInOrderAtItsWidth(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		count int
		width int
	}{
		{"the default width is 100 bytes", []string{"lines", "3"}, 3, DefaultLineWidth},
		{"the width counts the newline", []string{"lines", "12", "--width", "8"}, 12, 8},
		{"a width too small keeps the number whole", []string{"lines", "1000", "--width", "2"}, 1000, 2},
		{"more lines than one check interval all come", []string{"lines", strconv.Itoa(3*linesCheckEvery + 5), "--width", "20"}, 3*linesCheckEvery + 5, 20},
		{"zero lines print nothing", []string{"lines", "0"}, 0, DefaultLineWidth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(context.Background(), tt.args...)
			if code != ExitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			lines := strings.SplitAfter(out, "\n")
			if last := lines[len(lines)-1]; last != "" {
				t.Fatalf("the output does not end with a newline: %q", last)
			}
			lines = lines[:len(lines)-1]
			if len(lines) != tt.count {
				t.Fatalf("%d lines, want %d", len(lines), tt.count)
			}
			digits := len(strconv.Itoa(tt.count))
			for i, line := range lines {
				want := Line(i+1, tt.count, tt.width) + "\n"
				if line != want {
					t.Fatalf("line %d is %q, want %q", i+1, line, want)
				}
				if n, err := strconv.Atoi(line[:digits]); err != nil || n != i+1 {
					t.Fatalf("line %d starts %q, not its number", i+1, line[:digits])
				}
				if tt.width > digits+1 && len(line) != tt.width {
					t.Fatalf("line %d is %d bytes, want %d", i+1, len(line), tt.width)
				}
			}
		})
	}
}

func TestLinesRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a count is needed", []string{"lines"}, "want one COUNT"},
		{"the count is a number", []string{"lines", "many"}, `COUNT "many"`},
		{"the count is not negative", []string{"lines", "--", "-1"}, `COUNT "-1"`},
		{"the width is at least one byte", []string{"lines", "5", "--width", "0"}, "--width 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(context.Background(), tt.args...)
			if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.wantErr) || !strings.Contains(errOut, "usage: berth demo lines COUNT") {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, ExitUsage, tt.wantErr)
			}
		})
	}
}

func TestLinesStopsWhenAskedTo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, _ := run(ctx, "lines", "1000000")
	if code != ExitOK {
		t.Fatalf("exit %d, want %d", code, ExitOK)
	}
	if n := strings.Count(out, "\n"); n >= 1000000 {
		t.Errorf("printed all %d lines after being stopped", n)
	}
}

func TestCompareLinesSaysWhatIsMissingOrRepeated(t *testing.T) {
	whole := []string{Line(1, 3, DefaultLineWidth), Line(2, 3, DefaultLineWidth), Line(3, 3, DefaultLineWidth)}
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"every line once, in order", whole, ""},
		{"a line missing", whole[:2], "printed 2 lines of 3: 1 missing, 0 repeated"},
		{"a line repeated", append(append([]string{}, whole...), whole[1]), "printed 4 lines of 3: 0 missing, 1 repeated; first out of place: line 4"},
		{"two lines swapped", []string{whole[1], whole[0], whole[2]}, "0 missing, 0 repeated; first out of place: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CompareLines(tt.lines, 3)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("CompareLines = %q, want %q", got, tt.want)
			}
		})
	}
}
