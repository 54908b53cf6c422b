package taskdef

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through decode, validation and
// normalisation. Whatever the input, Load must not panic, must return
// either an input error or a report, and a definition it accepts must be
// accepted again after normalisation (normalising is idempotent).
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.json")
	examples, _ := filepath.Glob("../examples/*.json")
	for _, path := range append(seeds, examples...) {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":64}]}`))
	f.Add([]byte(`{"taskDefinition":{"family":"f","cpu":".25 vcpu","memory":"0.5 GB","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"b","dependsOn":[{"containerName":"a","condition":"HEALTHY"}]}]}}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lt := range []string{"", LaunchFargate} {
			task, report, err := Load(data, Options{LaunchType: lt})
			if err != nil {
				if report != nil || task != nil {
					t.Fatalf("an input error came with a result")
				}
				continue
			}
			if report.Valid() != (task != nil) {
				t.Fatalf("valid=%v but task=%v", report.Valid(), task)
			}
			if task == nil {
				continue
			}
			b := mustJSON(t, &task.Definition)
			task2, report2, err := Load(b, Options{LaunchType: lt})
			if err != nil || !report2.Valid() {
				t.Fatalf("normalised definition no longer valid: %v %v\n%s", err, report2.Errors, b)
			}
			if task2.CPU != task.CPU || task2.Memory != task.Memory {
				t.Fatalf("cpu/memory changed on reload: %d/%d vs %d/%d", task.CPU, task.Memory, task2.CPU, task2.Memory)
			}
		}
	})
}
