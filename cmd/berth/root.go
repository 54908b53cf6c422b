package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command. Commands that report a verdict
// (validate) use exitInvalid; anything the user must fix in the call itself
// (flags, missing files, unreadable input) is exitUsage.
const (
	exitOK      = 0
	exitInvalid = 1
	exitFailure = 1 // a command that could not do its work (no engine, …)
	exitUsage   = 2
)

// exitError carries a specific exit code out of a command. msg, when set, is
// printed to stderr by main; an empty msg means the command already reported.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// failingWith gives a command's own failures the exit code code. Usage
// errors (bad flags and arguments) never reach RunE: cobra reports them, and
// main exits with exitUsage.
func failingWith(code int, run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		var exit *exitError
		if err == nil || errors.As(err, &exit) {
			return err
		}
		return &exitError{code: code, msg: err.Error()}
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Run Amazon ECS task definitions on your own Docker engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, msg: err.Error() + "\nSee '" + c.CommandPath() + " --help'."}
	})
	root.AddCommand(
		newVersionCommand(),
		newValidateCommand(),
		newSchemaCommand(),
		newRunCommand(),
		newDemoCommand(),
		newPauseCommand(),
		newImagesCommand(),
		newServerCommand(),
		newAgentCommand(),
		newClusterCommand(),
		newTaskdefCommand(),
		newInstanceCommand(),
		newTaskCommand(),
		newCompareCommand(),
		newEventsCommand(),
		newCgroupCommand(),
		newTopCommand(),
		newCostCommand(),
	)
	// cobra's own completion command prints its help and succeeds for a
	// shell it does not know; it is made to refuse one instead.
	root.InitDefaultCompletionCmd() // once there are commands, or it makes none
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = argsBetween(1, 1, "one shell: bash, zsh, fish or powershell")
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("berth completion: no completion for shell %q; it has bash, zsh, fish and powershell\nSee 'berth completion --help'.", args[0])}
			}
		}
	}
	return root
}

// argsBetween checks a command's arguments by count (max < 0: no upper
// bound), saying in the command's own words what it takes, and pointing at
// --help as a flag error does.
func argsBetween(min, max int, takes string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && (max < 0 || len(args) <= max) {
			return nil
		}
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s takes %s, not %d arguments\nSee '%s --help'.",
			cmd.CommandPath(), takes, len(args), cmd.CommandPath())}
	}
}
