package taskdef

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one finding about a definition: an error ECS would reject it
// for, or a warning about something berth accepts but only approximates.
type Problem struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value in the
	// source document, "" for the document itself.
	Pointer string `json:"pointer"`
	// Line and Column locate the value in the source (1-based), when known.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Message says what is wrong, in ECS's words where ECS has them.
	Message string `json:"message"`
	// Rule names the check, for documentation and for suppressing.
	Rule string `json:"rule"`

	// offset is 1 + the byte offset of the value in the source, 0 when
	// the problem has none. Check turns the offsets of all its problems
	// into lines and columns together, in one pass over the source.
	offset int
}

func (p Problem) String() string {
	ptr := p.Pointer
	if ptr == "" {
		ptr = "/"
	}
	return fmt.Sprintf("%s: %s (%s)", ptr, p.Message, p.Rule)
}

// Report is the outcome of checking one definition.
type Report struct {
	Errors   []Problem `json:"errors"`
	Warnings []Problem `json:"warnings"`
	// Notes are things worth telling that need no action, such as the
	// read-only fields of describe-task-definition output being ignored.
	Notes []Problem `json:"notes"`

	task *Normalized
}

// Valid reports whether the definition has no errors.
func (r *Report) Valid() bool { return len(r.Errors) == 0 }

// Err returns nil for a valid definition and an *InvalidError otherwise.
func (r *Report) Err() error {
	if r.Valid() {
		return nil
	}
	return &InvalidError{Problems: r.Errors}
}

// InvalidError is a definition ECS would reject. Its message is the first
// problem's, which is what ECS itself reports.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Message
	}
	var b strings.Builder
	b.WriteString(e.Problems[0].Message)
	if more := len(e.Problems) - 1; more == 1 {
		b.WriteString(" (and 1 more problem)")
	} else {
		fmt.Fprintf(&b, " (and %d more problems)", more)
	}
	return b.String()
}

// ErrUnreadable marks input that is not a JSON document berth can read at
// all; errors.Is(err, ErrUnreadable) holds for every *InputError.
var ErrUnreadable = errors.New("unreadable task definition")

// InputError is input that cannot be read as a task definition: broken
// JSON, a value that is not an object, too large or too deeply nested.
type InputError struct {
	Line, Column int // where reading stopped, 1-based; 0 when not located
	Reason       string
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Reason)
	}
	return e.Reason
}

// Unwrap lets callers test for ErrUnreadable.
func (e *InputError) Unwrap() error { return ErrUnreadable }
