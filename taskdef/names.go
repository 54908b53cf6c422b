package taskdef

import (
	"fmt"
	"unicode/utf8"
)

// MaxNameLength is the longest family, container, service or cluster name.
const MaxNameLength = 255

// CheckName checks a family, container, service or cluster name by ECS's
// one rule for them (the schema states it for the names in a task
// definition): 1–255 letters, numbers, underscores and hyphens. what says
// which name it is, for the message.
func CheckName(what, name string) error {
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxNameLength {
		return fmt.Errorf("%s name %q must be 1-%d characters long, not %d", what, name, MaxNameLength, n)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%s name %q contains %q; it may contain only letters (uppercase and lowercase), numbers, underscores and hyphens", what, name, r)
		}
	}
	return nil
}
