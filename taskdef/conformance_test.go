package taskdef

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir holds task definitions gathered from public repositories,
// beside the project; it is absent on a user's clone.
const conformanceDir = "../../shared/conformance/taskdefs/real"

// TestConformanceCorpusGetsECSVerdict checks that every real-world task
// definition gets the verdict ECS gives it: valid, unless EXPECT.tsv says
// otherwise.
func TestConformanceCorpusGetsECSVerdict(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("conformance corpus not found at %s (it sits beside the project, not in it); skipping", conformanceDir)
	}
	expect := readExpectations(t, filepath.Join(conformanceDir, "EXPECT.tsv"))
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, report, err := Load(data, Options{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := expect[name]
			if want == "" {
				want = "valid"
			}
			got := "valid"
			if !report.Valid() {
				got = "invalid"
			}
			if got != want {
				t.Errorf("verdict %s, ECS's is %s; errors: %v", got, want, report.Errors)
			}
		})
	}
}

func readExpectations(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("conformance corpus without EXPECT.tsv: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 2 && cols[0] != "file" {
			out[cols[0]] = cols[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
