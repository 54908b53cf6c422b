package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/taskdef"
)

type validateOptions struct {
	launchType string
	output     string
}

func newValidateCommand() *cobra.Command {
	var opts validateOptions
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check task definitions against ECS's rules",
		Long: `Check task definitions against ECS's rules, before anything runs.

Each problem is printed as FILE:LINE:COL: JSON-POINTER: message (rule).
FILE may be - for standard input. Exit status: 0 when every file is valid,
1 when any is invalid, 2 when a file cannot be read as JSON or the call is wrong.`,
		Example: "  berth validate examples/web-server.json\n  berth validate --launch-type FARGATE -o json task.json",
		Args:    argsBetween(1, -1, "one or more task definition FILEs (- for standard input)"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.InOrStdin(), cmd.OutOrStdout(), args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.launchType, "launch-type", "", "apply the rules of this launch type: EC2 or FARGATE (default: from requiresCompatibilities)")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// fileReport is one file's verdict in `berth validate -o json`.
type fileReport struct {
	File     string            `json:"file"`
	Valid    bool              `json:"valid"`
	Error    string            `json:"error,omitempty"` // the file could not be read as JSON
	Errors   []taskdef.Problem `json:"errors"`
	Warnings []taskdef.Problem `json:"warnings"`
	Notes    []taskdef.Problem `json:"notes"`
	// unread says Error kept the file from being read at all (missing, a
	// directory, too large), rather than its bytes from being a task
	// definition: only then does the text report say "cannot read".
	unread bool
}

func runValidate(stdin io.Reader, stdout io.Writer, files []string, opts validateOptions) error {
	if err := checkLaunchType(opts.launchType); err != nil {
		return err
	}
	if opts.output != "text" && opts.output != "json" {
		return usageError("--output must be text or json, not %q", opts.output)
	}
	code := exitOK
	reports := make([]fileReport, 0, len(files))
	for _, file := range files {
		fr := validateFile(stdin, file, opts.launchType)
		switch {
		case fr.Error != "":
			code = exitUsage
		case !fr.Valid && code == exitOK:
			code = exitInvalid
		}
		reports = append(reports, fr)
	}
	if opts.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		for _, fr := range reports {
			writeTextReport(stdout, fr)
		}
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func validateFile(stdin io.Reader, file, launchType string) fileReport {
	fr := fileReport{File: file, Errors: []taskdef.Problem{}, Warnings: []taskdef.Problem{}, Notes: []taskdef.Problem{}}
	data, err := readDefinition(stdin, file)
	if err != nil {
		fr.Error, fr.unread = err.Error(), true
		return fr
	}
	_, report, err := taskdef.Load(data, taskdef.Options{LaunchType: launchType})
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	fr.Valid = report.Valid()
	fr.Errors = append(fr.Errors, report.Errors...)
	fr.Warnings = append(fr.Warnings, report.Warnings...)
	fr.Notes = append(fr.Notes, report.Notes...)
	return fr
}

// readDefinition reads a file (or standard input for "-"), refusing
// directories and anything larger than a task definition could be before
// reading it whole.
func readDefinition(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, errors.Unwrap(err) // the *PathError's path is printed already
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, errors.New("is a directory, not a task definition file")
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, taskdef.MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > taskdef.MaxInputSize {
		return nil, fmt.Errorf("larger than %d MiB: a task definition is at most 64 KiB", taskdef.MaxInputSize>>20)
	}
	return data, nil
}

// writeTextReport prints problems as FILE:LINE:COL: POINTER: message (rule):
// errors, then warnings and notes, then one verdict line.
func writeTextReport(w io.Writer, fr fileReport) {
	switch {
	case fr.unread:
		fmt.Fprintf(w, "%s: cannot read: %s\n", fr.File, fr.Error)
		return
	case fr.Error != "":
		// The reason says what is wrong with the bytes ("not valid JSON",
		// "a task definition is a JSON object, not an array"), and where.
		fmt.Fprintf(w, "%s: %s\n", fr.File, fr.Error)
		return
	}
	for _, p := range fr.Errors {
		fmt.Fprintf(w, "%s: %s\n", location(fr.File, p), p)
	}
	for _, p := range fr.Warnings {
		fmt.Fprintf(w, "%s: warning: %s\n", location(fr.File, p), p)
	}
	for _, p := range fr.Notes {
		fmt.Fprintf(w, "%s: note: %s\n", location(fr.File, p), p)
	}
	switch {
	case !fr.Valid:
		fmt.Fprintf(w, "%s: invalid: %s\n", fr.File, plural(len(fr.Errors), "error"))
	case len(fr.Warnings) > 0:
		fmt.Fprintf(w, "%s: valid, %s\n", fr.File, plural(len(fr.Warnings), "warning"))
	default:
		fmt.Fprintf(w, "%s: valid\n", fr.File)
	}
}

func location(file string, p taskdef.Problem) string {
	if p.Line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Column)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func checkLaunchType(lt string) error {
	switch lt {
	case "", taskdef.LaunchEC2, taskdef.LaunchFargate:
		return nil
	}
	return usageError("--launch-type must be EC2 or FARGATE, not %q", lt)
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}
