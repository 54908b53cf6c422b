package main

import (
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/demo"
)

// newDemoCommand is the program of the berth/demo image (`/berth demo`).
// Its arguments are the demo's own, parsed by package demo.
func newDemoCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "demo [MODE] [ARGS...]",
		Short:              "Run the demo program of the berth/demo image",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := demo.Run(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != demo.ExitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
}
