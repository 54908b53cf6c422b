package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
)

// EnvToken, when set, is the token a berth server guarded by one wants.
const envToken = "BERTH_TOKEN"

// clientOptions are the flags of every command that is a client of berth
// server: where it is, and how it prints.
type clientOptions struct {
	endpoint string
	token    string
	output   string
}

// addClientFlags gives a command the client flags. outputs lists the
// output formats it prints; none means it takes no -o.
func (o *clientOptions) addClientFlags(cmd *cobra.Command, outputs ...string) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.endpoint, "endpoint", "", "berth server's URL (default: $"+client.EnvEndpoint+", else http://127.0.0.1:3185)")
	f.StringVar(&o.token, "token", "", "the token of a server that wants one (default: $"+envToken+")")
	if len(outputs) > 0 {
		f.StringVarP(&o.output, "output", "o", outputs[0], "output format: "+strings.Join(outputs, ", "))
	}
}

// client returns the server's client, after checking the output format.
func (o *clientOptions) client(outputs ...string) (*client.Client, error) {
	if len(outputs) > 0 && !contains(outputs, o.output) {
		return nil, usageError("--output %q: want %s", o.output, strings.Join(outputs, ", "))
	}
	token := o.token
	if token == "" {
		token = os.Getenv(envToken)
	}
	return client.New(client.Endpoint(o.endpoint), token), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// serverError gives a client command's failure its exit status and one
// line: a server that does not answer says so and how to start one; an
// error the server answered is ECS's, in ECS's words.
func serverError(err error) error {
	var unreachable *client.UnreachableError
	var ecs *api.Error
	switch {
	case errors.As(err, &unreachable):
		return &exitError{code: exitFailure, msg: unreachable.Error()}
	case errors.As(err, &ecs):
		return &exitError{code: exitFailure, msg: ecs.Type + ": " + ecs.Message}
	}
	return err
}

// writeJSON prints v as the API shows it, indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, in columns.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// age says how long ago t was, as docker ps does: "3 minutes ago".
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

// describe prints what a Describe call answered: the API's own shape with
// -o json, else each item as write prints it, a blank line between; then
// the failures, which make the command fail.
func describe[T any](out io.Writer, output string, res any, items []T, write func(T), fs []api.Failure) error {
	if output == "json" {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else {
		for i, item := range items {
			if i > 0 {
				fmt.Fprintln(out)
			}
			write(item)
		}
	}
	return failures(out, fs)
}

// failures prints a batch call's failures, one a line, and makes them the
// command's failure.
func failures(out io.Writer, fs []api.Failure) error {
	if len(fs) == 0 {
		return nil
	}
	for _, f := range fs {
		line := f.Arn + ": " + f.Reason
		if f.Detail != "" {
			line += " (" + f.Detail + ")"
		}
		fmt.Fprintln(out, line)
	}
	return &exitError{code: exitFailure}
}

// writeFields prints label and value rows, each after indent, the values
// lined up two spaces after the longest label, or after width columns.
func writeFields(out io.Writer, indent string, width int, rows [][]string) {
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(out, "%s%-*s  %s\n", indent, width, r[0], r[1])
	}
}
