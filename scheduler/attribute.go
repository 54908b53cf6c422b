package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidAttribute is a custom attribute that ECS's PutAttributes would
// refuse.
var ErrInvalidAttribute = errors.New("invalid attribute")

// MaxAttributeLength is the longest attribute name or value, in characters.
const MaxAttributeLength = 128

// CheckAttribute checks a custom container instance attribute by ECS's
// rules: a name of 1–128 letters, digits, hyphens, underscores, periods and
// forward or back slashes; a value, which may be left out, of 1–128 of
// those and at signs, colons and spaces, not starting or ending with a
// space. The error wraps ErrInvalidAttribute and names what is wrong.
func CheckAttribute(name, value string) error {
	if err := checkAttributeText("name", name, "-_./\\"); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidAttribute, err)
	}
	if value == "" {
		return nil
	}
	if err := checkAttributeText("value", value, "-_./\\@: "); err != nil {
		return fmt.Errorf("%w %s: %v", ErrInvalidAttribute, name, err)
	}
	if strings.HasPrefix(value, " ") || strings.HasSuffix(value, " ") {
		return fmt.Errorf("%w %s: value %q can't start or end with a space", ErrInvalidAttribute, name, value)
	}
	return nil
}

func checkAttributeText(what, s, punctuation string) error {
	if n := utf8.RuneCountInString(s); n < 1 || n > MaxAttributeLength {
		return fmt.Errorf("%s %q must contain between 1 and %d characters, not %d", what, s, MaxAttributeLength, n)
	}
	for _, r := range s {
		if !isASCIIAlnum(r) && !strings.ContainsRune(punctuation, r) {
			return fmt.Errorf("%s %q contains %q; it may contain only letters, numbers, %s", what, s, r, describePunctuation(punctuation))
		}
	}
	return nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

var punctuationNames = map[rune]string{
	'-': "hyphens", '_': "underscores", '.': "periods", '/': "forward slashes",
	'\\': "back slashes", '@': "at signs", ':': "colons", ' ': "spaces",
}

// describePunctuation names the characters of punctuation in words, as the
// ECS documentation lists them.
func describePunctuation(punctuation string) string {
	var names []string
	for _, r := range punctuation {
		names = append(names, punctuationNames[r])
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
