package scheduler

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAttributeFollowsPutAttributesRules(t *testing.T) {
	tests := []struct {
		name, attr, value string
		wantErr           string // "" for valid
	}{
		{"a name alone", "gpu", "", ""},
		{"every character a name may hold", `Stack-1_a.b/c\d`, "x", ""},
		{"every character a value may hold", "owner", `Team-1_a.b/c\d@e:f g`, ""},
		{"a name of 128 characters", strings.Repeat("n", 128), "", ""},
		{"a value of 128 characters", "v", strings.Repeat("v", 128), ""},
		{"an empty name", "", "x", `name "" must contain between 1 and 128 characters, not 0`},
		{"a name of 129 characters", strings.Repeat("n", 129), "", "must contain between 1 and 128 characters, not 129"},
		{"a space in a name", "my attr", "", `name "my attr" contains ' '; it may contain only letters, numbers, hyphens, underscores, periods, forward slashes or back slashes`},
		{"a colon in a name", "ecs:zone", "", `contains ':'`},
		{"a letter outside ASCII", "zoné", "", `contains 'é'`},
		{"a value of 129 characters", "v", strings.Repeat("v", 129), `invalid attribute v: value "vvv`},
		{"a comma in a value", "zones", "a,b", `value "a,b" contains ','; it may contain only letters, numbers, hyphens, underscores, periods, forward slashes, back slashes, at signs, colons or spaces`},
		{"a value starting with a space", "stack", " prod", `value " prod" can't start or end with a space`},
		{"a value ending with a space", "stack", "prod ", "can't start or end with a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAttribute(tt.attr, tt.value)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckAttribute(%q, %q) = %v, want it valid", tt.attr, tt.value, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidAttribute) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckAttribute(%q, %q) = %v, want ErrInvalidAttribute containing %q", tt.attr, tt.value, err, tt.wantErr)
			}
		})
	}
}
