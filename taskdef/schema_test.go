package taskdef

import (
	"strings"
	"sync"
	"testing"
)

// A command compiles the schema in the background (PrepareSchema) while it
// reads its definition: Loads that come meanwhile, however many, wait for
// that one compilation and validate as ever (run with -race).
func TestLoadsBesideTheSchemasPreparation(t *testing.T) {
	compiledSchema = sync.OnceValues(compileSchema)
	t.Cleanup(func() { compiledSchema = sync.OnceValues(compileSchema) })
	PrepareSchema()
	var wg sync.WaitGroup
	for _, def := range []string{
		`{"family": "ok", "containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]}`,
		`{"family": "bad", "containerDefinitions": [{"name": "a", "image": "x", "memory": "lots"}]}`,
	} {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, report, err := Load([]byte(def), Options{})
				if err != nil {
					t.Errorf("Load: %v", err)
					return
				}
				if want := strings.Contains(def, `"ok"`); report.Valid() != want {
					t.Errorf("%s: valid %v, want %v: %v", def, report.Valid(), want, report.Errors)
				}
			}()
		}
	}
	wg.Wait()
}
