package main

import (
	"github.com/spf13/cobra"
)

// Exit codes shared by every command. Commands that report a verdict
// (validate) use exitInvalid; anything the user must fix in the call itself
// (flags, missing files, unreadable input) is exitUsage.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
)

// exitError carries a specific exit code out of a command. msg, when set, is
// printed to stderr by main; an empty msg means the command already reported.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

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
	)
	return root
}
