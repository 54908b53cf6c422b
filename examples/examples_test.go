package examples

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/demo"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"
)

// load reads one example and validates it as berth run would, failing the
// test when the file is not a JSON task definition at all.
func load(t *testing.T, file string) (*taskdef.Normalized, *taskdef.Report) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	task, report, err := taskdef.Load(data, taskdef.Options{})
	if err != nil {
		t.Fatalf("%s is not a readable task definition: %v", file, err)
	}
	return task, report
}

func examples(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no examples match %s", pattern)
	}
	return files
}

func TestExamplesAreValidWithoutWarnings(t *testing.T) {
	for _, file := range examples(t, "*.json") {
		t.Run(file, func(t *testing.T) {
			task, report := load(t, file)
			for _, p := range report.Errors {
				t.Errorf("%s:%d:%d: %s", file, p.Line, p.Column, p)
			}
			// An example teaches one thing; a warning would teach that
			// berth only approximates it.
			for _, p := range report.Warnings {
				t.Errorf("%s:%d:%d: warning: %s", file, p.Line, p.Column, p)
			}
			if report.Valid() && task == nil {
				t.Error("a valid report came without a task")
			}
		})
	}
}

// TestExamplesForFargateAreValidForBothLaunchTypes checks that an example
// claiming FARGATE validates when run as either launch type, so a class can
// compare the two with --launch-type and no edit.
func TestExamplesForFargateAreValidForBothLaunchTypes(t *testing.T) {
	for _, file := range examples(t, "*.json") {
		task, _ := load(t, file)
		if task == nil || !slices.Contains(task.Definition.RequiresCompatibilities, taskdef.LaunchFargate) {
			continue
		}
		for _, launchType := range []string{taskdef.LaunchEC2, taskdef.LaunchFargate} {
			t.Run(file+" as "+launchType, func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				task, report, err := taskdef.Load(data, taskdef.Options{LaunchType: launchType})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range append(report.Errors, report.Warnings...) {
					t.Errorf("%s:%d:%d: %s", file, p.Line, p.Column, p)
				}
				if task != nil && task.LaunchType != launchType {
					t.Errorf("runs as %s, want %s", task.LaunchType, launchType)
				}
			})
		}
	}
}

// TestReadmeSaysWhereEachExampleRuns checks the README's table of launch
// types against the files: an example listed for both claims both EC2 and
// FARGATE, and one listed as EC2 only fails Fargate's rules, so the table
// cannot promise a comparison that needs an edit.
func TestReadmeSaysWhereEachExampleRuns(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+\\.json)` \\| (EC2 and Fargate|EC2 only) \\|")
	listed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		listed[m[1]] = m[2]
	}
	for _, file := range examples(t, "*.json") {
		t.Run(file, func(t *testing.T) {
			task, _ := load(t, file)
			if task == nil {
				t.Skip("invalid; reported by TestExamplesAreValidWithoutWarnings")
			}
			compat := task.Definition.RequiresCompatibilities
			both := slices.Contains(compat, taskdef.LaunchEC2) && slices.Contains(compat, taskdef.LaunchFargate)
			switch listed[file] {
			case "EC2 and Fargate":
				if !both {
					t.Errorf("the README lists %s for EC2 and Fargate, but it requires %q", file, compat)
				}
			case "EC2 only":
				data, _ := os.ReadFile(file)
				_, report, _ := taskdef.Load(data, taskdef.Options{LaunchType: taskdef.LaunchFargate})
				if both || report.Valid() {
					t.Errorf("the README lists %s as EC2 only, but it is valid for Fargate", file)
				}
			default:
				t.Errorf("the README's table of launch types has no row for %s", file)
			}
		})
	}
}

// TestInvalidExamplesAreRejectedForTheMistakeTheyShow checks each file in
// invalid/ fails for the rule the README's table names beside it, so a
// file that broke another rule by accident would not pass.
func TestInvalidExamplesAreRejectedForTheMistakeTheyShow(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(invalid/[^`]+\\.json)` \\|.*\\(([a-z-]+)\\) \\|$")
	rules := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		rules[m[1]] = m[2]
	}
	for _, file := range examples(t, filepath.Join("invalid", "*.json")) {
		t.Run(file, func(t *testing.T) {
			task, report := load(t, file)
			if report.Valid() || task != nil {
				t.Fatalf("%s is accepted, but it is here to show a mistake ECS rejects", file)
			}
			want, ok := rules[filepath.ToSlash(file)]
			if !ok {
				t.Fatalf("the README's table of mistakes has no row for %s naming its rule", file)
			}
			var got []string
			for _, p := range report.Errors {
				got = append(got, p.Rule)
			}
			if !slices.Contains(got, want) {
				t.Errorf("%s fails for %v, not for %s as the README says", file, got, want)
			}
		})
	}
}

// demoModes lists the modes of the demo program, from its own usage text.
func demoModes(t *testing.T) []string {
	t.Helper()
	var out bytes.Buffer
	if code := demo.Run(context.Background(), []string{"help"}, &out, &out); code != demo.ExitOK {
		t.Fatalf("demo help exited %d: %s", code, out.String())
	}
	var modes []string
	for line := range strings.Lines(out.String()) {
		if rest, ok := strings.CutPrefix(line, "  "); ok {
			if fields := strings.Fields(rest); len(fields) > 0 {
				modes = append(modes, fields[0])
			}
		}
	}
	if len(modes) == 0 {
		t.Fatalf("no modes in the demo usage:\n%s", out.String())
	}
	return modes
}

// The runnable examples need no registry: they use only the demo image
// berth builds from its own binary, and run modes the demo program has.
func TestExamplesRunTheDemoProgram(t *testing.T) {
	modes := demoModes(t)
	for _, file := range examples(t, "*.json") {
		t.Run(file, func(t *testing.T) {
			task, _ := load(t, file)
			if task == nil {
				t.Skip("invalid; reported by TestExamplesAreValidWithoutWarnings")
			}
			for _, c := range task.Definition.ContainerDefinitions {
				if c.Image != images.DemoRef {
					t.Errorf("container %s uses image %q, want %s", c.Name, c.Image, images.DemoRef)
				}
				if len(c.EntryPoint) > 0 {
					t.Errorf("container %s overrides the entrypoint; the demo image's is /berth demo", c.Name)
				}
				if len(c.Command) > 0 && !slices.Contains(modes, c.Command[0]) {
					t.Errorf("container %s runs demo mode %q; the modes are %v", c.Name, c.Command[0], modes)
				}
				if h := c.HealthCheck; h != nil {
					if len(h.Command) < 4 || h.Command[0] != "CMD" || h.Command[1] != "/berth" || h.Command[2] != "demo" || !slices.Contains(modes, h.Command[3]) {
						t.Errorf("container %s's health check %q does not run a demo mode as [\"CMD\", \"/berth\", \"demo\", MODE, ...]", c.Name, h.Command)
					}
				}
			}
		})
	}
}

func TestReadmeTeachesEveryExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := append(examples(t, "*.json"), examples(t, filepath.Join("invalid", "*.json"))...)
	for _, file := range files {
		if !bytes.Contains(readme, []byte(filepath.ToSlash(file))) {
			t.Errorf("README.md does not mention %s", file)
		}
	}
}
