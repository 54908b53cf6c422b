package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/taskdef"
)

func newTaskdefCommand() *cobra.Command {
	var opts clientOptions
	cmd := &cobra.Command{
		Use:   "taskdef",
		Short: "Register, list, describe and deregister the task definitions of a berth server",
		Args:  argsBetween(0, 0, "a subcommand: register, list, describe or deregister"),
	}
	opts.addClientFlags(cmd, "table", "json", "wide")
	register := &cobra.Command{
		Use:   "register FILE…",
		Short: "Register task definitions (RegisterTaskDefinition): each a new revision of its family",
		Long: `Register task definitions with the server, each as the next revision of its
family. A file is checked here first, as berth validate checks it, so its
mistakes are shown with their lines; the server checks it again. FILE - reads
standard input; the output of aws ecs describe-task-definition works too.`,
		Args: argsBetween(1, -1, "one or more task definition FILEs"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskdefRegister(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), &opts, args)
		}),
	}
	var family, status string
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered task definitions (ListTaskDefinitions), newest first",
		Long: `List the registered task definitions, newest first: every family's, or with
--family one family's revisions. --family takes the family's full name, as
ListTaskDefinitions' familyPrefix does (despite its name, ECS matches it
whole: --family web lists web's revisions, not webapp's). -o wide adds each
revision's size, network mode, launch types and age.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runTaskdefList(cmd.Context(), cmd.OutOrStdout(), &opts, family, status)
		}),
	}
	list.Flags().StringVar(&family, "family", "", "only this family's revisions (its full name, as ListTaskDefinitions' familyPrefix takes it)")
	list.RegisterFlagCompletionFunc("family", completeFrom(&opts, familyNames))
	list.Flags().StringVar(&status, "status", "ACTIVE", "ACTIVE or INACTIVE")
	describe := &cobra.Command{
		Use:               "describe FAMILY[:REVISION]",
		Short:             "Describe a task definition (DescribeTaskDefinition): the latest ACTIVE revision unless one is named",
		Args:              argsBetween(1, 1, "one FAMILY[:REVISION] or ARN"),
		ValidArgsFunction: completeFrom(&opts, familyNames),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskdefDescribe(cmd.Context(), cmd.OutOrStdout(), &opts, args[0])
		}),
	}
	deregister := &cobra.Command{
		Use:               "deregister FAMILY:REVISION",
		Short:             "Deregister a task definition revision (DeregisterTaskDefinition): it becomes INACTIVE",
		Args:              argsBetween(1, 1, "one FAMILY:REVISION or ARN"),
		ValidArgsFunction: completeFrom(&opts, familyNames),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runTaskdefDeregister(cmd.Context(), cmd.OutOrStdout(), &opts, args[0])
		}),
	}
	cmd.AddCommand(register, list, describe, deregister)
	return cmd
}

func runTaskdefRegister(ctx context.Context, stdin io.Reader, out io.Writer, opts *clientOptions, files []string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	// Every file is read and checked before any is registered: a mistake
	// in the third registers none.
	defs := make([]taskdef.TaskDefinition, len(files))
	for i, file := range files {
		data, err := readDefinition(stdin, file)
		if err != nil {
			return usageError("%s: cannot read: %v", file, err)
		}
		task, report, err := taskdef.Load(data, taskdef.Options{})
		if err != nil {
			return usageError("%s: %v", file, err)
		}
		if !report.Valid() {
			writeTextReport(out, fileReport{File: file, Errors: report.Errors})
			return &exitError{code: exitInvalid}
		}
		defs[i] = task.Definition
	}
	var registered []*api.RegisterTaskDefinitionOutput
	for i := range defs {
		res, err := c.RegisterTaskDefinition(ctx, &defs[i])
		if err != nil {
			return serverError(err)
		}
		registered = append(registered, res)
		if opts.output != "json" {
			fmt.Fprintf(out, "registered %s:%d (%s)\n", res.TaskDefinition.Family, res.TaskDefinition.Revision, res.TaskDefinition.TaskDefinitionArn)
		}
	}
	if opts.output == "json" {
		return writeJSON(out, registered)
	}
	return nil
}

func runTaskdefList(ctx context.Context, out io.Writer, opts *clientOptions, family, status string) error {
	status = strings.ToUpper(status)
	if status != "ACTIVE" && status != "INACTIVE" {
		return usageError("--status %q: want ACTIVE or INACTIVE", status)
	}
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	arns, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListTaskDefinitions(ctx, &api.ListTaskDefinitionsInput{FamilyPrefix: family, Status: status, Sort: "DESC", NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.TaskDefinitionArns, res.NextToken, nil
	})
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, api.ListTaskDefinitionsOutput{TaskDefinitionArns: arns})
	}
	header := "FAMILY\tREVISION\tSTATUS\tARN"
	wide := opts.output == "wide"
	if wide {
		header += "\tCPU\tMEMORY\tNETWORK MODE\tLAUNCH TYPES\tREGISTERED"
	}
	rows := make([][]string, 0, len(arns))
	now := clock()
	for _, arn := range arns {
		fam, rev, err := api.TaskDefinitionRef(arn)
		if err != nil {
			return fmt.Errorf("the server listed %q, which is no task definition ARN: %w", arn, err)
		}
		row := []string{fam, strconv.Itoa(rev), status, arn}
		if wide {
			res, err := c.DescribeTaskDefinition(ctx, &api.DescribeTaskDefinitionInput{TaskDefinition: arn})
			if err != nil {
				return serverError(err)
			}
			td := res.TaskDefinition
			row = append(row, orDash(td.CPU), orDash(td.Memory), networkMode(td.NetworkMode), orDash(strings.Join(td.Compatibilities, ", ")), age(td.RegisteredAt.Time, now))
		}
		rows = append(rows, row)
	}
	return table(out, header, rows)
}

// networkMode is a definition's network mode, bridge when it names none.
func networkMode(mode string) string {
	if mode == "" {
		return taskdef.NetworkBridge
	}
	return mode
}

func runTaskdefDescribe(ctx context.Context, out io.Writer, opts *clientOptions, ref string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.DescribeTaskDefinition(ctx, &api.DescribeTaskDefinitionInput{TaskDefinition: ref, Include: []string{"TAGS"}})
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	return writeTaskDefinition(out, res.TaskDefinition, res.Tags, time.Now())
}

// writeTaskDefinition prints a definition as the ECS console's overview
// shows it, then its containers.
func writeTaskDefinition(out io.Writer, td *api.TaskDefinition, tags []taskdef.Tag, now time.Time) error {
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	mode := networkMode(td.NetworkMode)
	rows := [][]string{
		{"Task definition:", fmt.Sprintf("%s:%d", td.Family, td.Revision)},
		{"ARN:", td.TaskDefinitionArn},
		{"Status:", td.Status},
		{"Registered:", age(td.RegisteredAt.Time, now)},
		{"Launch types:", orDash(strings.Join(td.Compatibilities, ", "))},
		{"Network mode:", mode},
		{"Task CPU:", orDash(td.CPU)},
		{"Task memory:", orDash(td.Memory)},
		{"Task role:", orDash(td.TaskRoleArn)},
		{"Execution role:", orDash(td.ExecutionRoleArn)},
	}
	if !td.DeregisteredAt.IsZero() {
		rows = append(rows, []string{"Deregistered:", age(td.DeregisteredAt.Time, now)})
	}
	for _, t := range tags {
		rows = append(rows, []string{"Tag " + t.Key + ":", t.Value})
	}
	for _, r := range rows {
		fmt.Fprintf(out, "%-17s %s\n", r[0], r[1])
	}
	fmt.Fprintln(out)
	ctrs := make([][]string, len(td.ContainerDefinitions))
	for i, c := range td.ContainerDefinitions {
		memory := "-"
		switch {
		case c.Memory != nil && c.MemoryReservation != nil:
			memory = fmt.Sprintf("%d (soft %d)", *c.Memory, *c.MemoryReservation)
		case c.Memory != nil:
			memory = strconv.Itoa(*c.Memory)
		case c.MemoryReservation != nil:
			memory = fmt.Sprintf("soft %d", *c.MemoryReservation)
		}
		var ports []string
		for _, p := range c.PortMappings {
			if p.ContainerPort != nil {
				port := strconv.Itoa(*p.ContainerPort)
				if p.HostPort != nil && *p.HostPort != 0 {
					port = strconv.Itoa(*p.HostPort) + "->" + port
				}
				ports = append(ports, port+"/"+orTCP(p.Protocol))
			}
		}
		ctrs[i] = []string{c.Name, c.Image, strconv.FormatBool(c.IsEssential()), strconv.Itoa(c.CPU), memory, orDash(strings.Join(ports, ", "))}
	}
	return table(out, "CONTAINER\tIMAGE\tESSENTIAL\tCPU\tMEMORY\tPORTS", ctrs)
}

func orTCP(protocol string) string {
	if protocol == "" {
		return "tcp"
	}
	return protocol
}

func runTaskdefDeregister(ctx context.Context, out io.Writer, opts *clientOptions, ref string) error {
	c, err := opts.client("table", "json", "wide")
	if err != nil {
		return err
	}
	res, err := c.DeregisterTaskDefinition(ctx, &api.DeregisterTaskDefinitionInput{TaskDefinition: ref})
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "deregistered %s:%d (now %s)\n", res.TaskDefinition.Family, res.TaskDefinition.Revision, res.TaskDefinition.Status)
	return nil
}
