package taskdef

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryRuleIsDocumented keeps docs/validation.md true: each rule name a
// check can report appears there.
func TestEveryRuleIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/validation.md")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`c\.(?:fail|warn)\([^"]*(?:"[^"]*"[^"]*)*?"([a-z0-9]+(?:-[a-z0-9]+)+)", "`)
	for _, file := range []string{"rules.go", "warnings.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		matches := rule.FindAllSubmatch(src, -1)
		if len(matches) == 0 {
			t.Fatalf("found no rules in %s: the pattern is out of date", file)
		}
		for _, m := range matches {
			if name := string(m[1]); !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("rule %s (%s) is not in docs/validation.md", name, file)
			}
		}
	}
}
