package taskdef

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckNameAllowsWhatTheSchemaAllows(t *testing.T) {
	tests := []struct {
		name, value, wantErr string
	}{
		{"letters, numbers, underscores and hyphens", "my_Cluster-2", ""},
		{"255 characters", strings.Repeat("c", 255), ""},
		{"empty", "", `cluster name "" must be 1-255 characters long, not 0`},
		{"256 characters", strings.Repeat("c", 256), "must be 1-255 characters long, not 256"},
		{"a slash, which would break the ARN", "team/dev", `cluster name "team/dev" contains '/'; it may contain only letters (uppercase and lowercase), numbers, underscores and hyphens`},
		{"a period", "dev.cluster", `contains '.'`},
		{"a letter outside ASCII", "clusté", `contains 'é'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName("cluster", tt.value)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckName(%q) = %v, want it valid", tt.value, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckName(%q) = %v, want an error containing %q", tt.value, err, tt.wantErr)
			}
		})
	}
}

// The schema and CheckName state one rule: a name the schema takes as a
// family, CheckName takes, and the reverse.
func TestCheckNameAgreesWithTheSchemaOnFamilies(t *testing.T) {
	for _, family := range []string{"web", "a_b-C9", strings.Repeat("f", 255), strings.Repeat("f", 256), "a b", "a/b", "a.b", "é", ""} {
		name, _ := json.Marshal(family)
		def := `{"family":` + string(name) + `,"containerDefinitions":[{"name":"a","image":"b","memory":64}]}`
		_, report, err := Load([]byte(def), Options{})
		if err != nil {
			t.Fatalf("load family %q: %v", family, err)
		}
		if schemaOK, checkOK := report.Valid(), CheckName("family", family) == nil; schemaOK != checkOK {
			t.Errorf("family %q: schema valid=%v, CheckName valid=%v", family, schemaOK, checkOK)
		}
	}
}
