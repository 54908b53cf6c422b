package main

import (
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/taskdef"
)

func newSchemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of task definitions",
		Long: `Print the JSON Schema berth validates task definitions against.
Point an editor at it for completion: berth schema > task-definition.schema.json`,
		Args: cobra.NoArgs,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(taskdef.SchemaJSON)
			return err
		}),
	}
}
