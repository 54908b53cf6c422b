package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The tables docs/cli.md shows are the commands' own: each table header
// in its examples is one a golden file of the commands' output has, so a
// column added, renamed or moved shows here until the doc is run again.
func TestTheDocsTablesAreTheCommandsOwn(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	spaces := regexp.MustCompile(` {2,}`)
	var all strings.Builder
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			all.WriteString(spaces.ReplaceAllString(strings.TrimSpace(line), "  ") + "\n")
		}
	}
	// A header: words in capitals (and /, %, -), two spaces or more between
	// columns, at least three columns.
	header := regexp.MustCompile(`^ *[A-Z][A-Z/%.-]*( [A-Z/%.-]+)*( {2,}[A-Z][A-Z/%.-]*( [A-Za-z/%.-]+)*){2,}$`)
	open, plain, checked := false, false, 0
	for i, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			open, plain = !open, !open && line == "```"
			continue
		}
		if !plain || !header.MatchString(line) {
			continue
		}
		checked++
		if h := spaces.ReplaceAllString(strings.TrimSpace(line), "  "); !strings.Contains(all.String(), "\n"+h+"\n") {
			t.Errorf("docs/cli.md:%d: the header %q is in no golden: a command's table changed since the doc was run", i+1, h)
		}
	}
	if checked < 10 {
		t.Errorf("only %d table headers found in docs/cli.md", checked)
	}
}
