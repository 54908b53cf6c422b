package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
)

// Shell completion of what a server holds: cluster names, task definition
// families and revisions. A server that does not answer completes nothing,
// at once: a shell must never hang on a tab.

// completionWait bounds how long a tab waits for the server.
const completionWait = 2 * time.Second

// completeFrom completes with the names list returns, given what the
// command line already has and what the word so far is.
func completeFrom(opts *clientOptions, list func(ctx context.Context, c *client.Client, prefix string) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		c, err := opts.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionWait)
		defer cancel()
		var out []string
		for _, name := range list(ctx, c, toComplete) {
			if strings.HasPrefix(name, toComplete) && !contains(args, name) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// clusterNames lists the server's cluster names.
func clusterNames(ctx context.Context, c *client.Client, _ string) []string {
	arns, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListClusters(ctx, &api.ListClustersInput{NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.ClusterArns, res.NextToken, nil
	})
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(arns))
	for _, arn := range arns {
		if name, err := api.ClusterName(arn); err == nil {
			names = append(names, name)
		}
	}
	return names
}

// familyNames lists the server's ACTIVE task definition families and, once
// the word names a family and a colon, that family's revisions.
func familyNames(ctx context.Context, c *client.Client, prefix string) []string {
	if family, _, ok := strings.Cut(prefix, ":"); ok {
		arns, err := client.AllPages(func(token string) ([]string, string, error) {
			res, err := c.ListTaskDefinitions(ctx, &api.ListTaskDefinitionsInput{FamilyPrefix: family, Sort: "DESC", NextToken: token})
			if err != nil {
				return nil, "", err
			}
			return res.TaskDefinitionArns, res.NextToken, nil
		})
		if err != nil {
			return nil
		}
		var out []string
		for _, arn := range arns {
			if f, rev, err := api.TaskDefinitionRef(arn); err == nil && f == family {
				out = append(out, f+":"+strconv.Itoa(rev))
			}
		}
		return out
	}
	families, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListTaskDefinitionFamilies(ctx, &api.ListTaskDefinitionFamiliesInput{FamilyPrefix: prefix, Status: "ACTIVE", NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.Families, res.NextToken, nil
	})
	if err != nil {
		return nil
	}
	return families
}

// completeRunTarget completes berth run's argument: the files of the
// directory, and the task definition families of the server berth run
// would go through.
func completeRunTarget(opts *clientOptions) cobra.CompletionFunc {
	return completeFileOrFamily(func(ctx context.Context) *clientOptions { return runServerOptions(ctx, opts) })
}

// completeFileOrFamily completes the one argument that is a definition
// FILE or a FAMILY[:REVISION] (berth run's, berth task run's): the files
// of the directory (the shell's own completion), and the families of the
// server server names.
func completeFileOrFamily(server func(ctx context.Context) *clientOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, _ := completeFrom(server(cmd.Context()), familyNames)(cmd, args, toComplete)
		return names, cobra.ShellCompDirectiveDefault
	}
}

// completeRunFrom completes a flag of berth run from the server it would
// go through.
func completeRunFrom(opts *clientOptions, list func(ctx context.Context, c *client.Client, prefix string) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeFrom(runServerOptions(cmd.Context(), opts), list)(cmd, args, toComplete)
	}
}

// runServerOptions are opts with, when they name no server, the one that
// holds the state directory, as berth run finds it.
func runServerOptions(ctx context.Context, opts *clientOptions) *clientOptions {
	o := *opts
	if o.endpoint != "" || os.Getenv(client.EnvEndpoint) != "" {
		return &o
	}
	if path, err := store.DefaultPath(); err == nil {
		if info, ok := server.Discover(ctx, filepath.Dir(path)); ok {
			o.endpoint = info.URL()
		}
	}
	return &o
}
