package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/taskdef"
)

func newClusterCommand() *cobra.Command {
	var opts clientOptions
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, list, describe and delete the clusters of a berth server",
		Args:  argsBetween(0, 0, "a subcommand: create, list, describe or delete"),
	}
	opts.addClientFlags(cmd, "table", "json")
	var tags []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a cluster (CreateCluster); creating one that exists changes nothing",
		Args:  argsBetween(1, 1, "one cluster NAME"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runClusterCreate(cmd.Context(), cmd.OutOrStdout(), &opts, args[0], tags)
		}),
	}
	create.Flags().StringArrayVar(&tags, "tag", nil, "tag the cluster: KEY=VALUE (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the clusters, with their instances and tasks",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runClusterList(cmd.Context(), cmd.OutOrStdout(), &opts)
		}),
	}
	describe := &cobra.Command{
		Use:               "describe NAME…",
		Short:             "Describe clusters (DescribeClusters, with statistics and tags)",
		Args:              argsBetween(1, 100, "one to 100 cluster names or ARNs"),
		ValidArgsFunction: completeFrom(&opts, clusterNames),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runClusterDescribe(cmd.Context(), cmd.OutOrStdout(), &opts, args)
		}),
	}
	del := &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete a cluster (DeleteCluster): refused while it holds instances or tasks",
		Args:              argsBetween(1, 1, "one cluster NAME or ARN"),
		ValidArgsFunction: completeFrom(&opts, clusterNames),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			return runClusterDelete(cmd.Context(), cmd.OutOrStdout(), &opts, args[0])
		}),
	}
	cmd.AddCommand(create, list, describe, del)
	return cmd
}

func runClusterCreate(ctx context.Context, out io.Writer, opts *clientOptions, name string, tagFlags []string) error {
	if err := taskdef.CheckName("cluster", name); err != nil {
		return usageError("cluster name: %v", err)
	}
	pairs, err := parseNameValues("--tag", tagFlags)
	if err != nil {
		return err
	}
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	in := &api.CreateClusterInput{ClusterName: name}
	for _, p := range pairs {
		in.Tags = append(in.Tags, taskdef.Tag{Key: p.Name, Value: p.Value})
	}
	res, err := c.CreateCluster(ctx, in)
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	fmt.Fprintln(out, res.Cluster.ClusterArn)
	return nil
}

func runClusterList(ctx context.Context, out io.Writer, opts *clientOptions) error {
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	arns, err := client.AllPages(func(token string) ([]string, string, error) {
		res, err := c.ListClusters(ctx, &api.ListClustersInput{NextToken: token})
		if err != nil {
			return nil, "", err
		}
		return res.ClusterArns, res.NextToken, nil
	})
	if err != nil {
		return serverError(err)
	}
	clusters, err := describeClusters(ctx, c, arns, nil)
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, clusters)
	}
	rows := make([][]string, len(clusters))
	for i, cl := range clusters {
		rows[i] = []string{cl.ClusterName, cl.Status, count(cl.RegisteredContainerInstancesCount), count(cl.RunningTasksCount), count(cl.PendingTasksCount)}
	}
	return table(out, "NAME\tSTATUS\tINSTANCES\tRUNNING\tPENDING", rows)
}

// describeClusters describes refs a hundred at a time, as ECS takes them.
func describeClusters(ctx context.Context, c *client.Client, refs, include []string) ([]api.Cluster, error) {
	out := []api.Cluster{} // none is [], as the API says it, not null
	for start := 0; start < len(refs); start += 100 {
		res, err := c.DescribeClusters(ctx, &api.DescribeClustersInput{Clusters: refs[start:min(start+100, len(refs))], Include: include})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Clusters...)
	}
	return out, nil
}

func runClusterDescribe(ctx context.Context, out io.Writer, opts *clientOptions, refs []string) error {
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	res, err := c.DescribeClusters(ctx, &api.DescribeClustersInput{Clusters: refs, Include: []string{"STATISTICS", "TAGS", "SETTINGS"}})
	if err != nil {
		return serverError(err)
	}
	return describe(out, opts.output, res, res.Clusters, func(cl api.Cluster) { writeCluster(out, cl) }, res.Failures)
}

// writeCluster prints a cluster as the ECS console's overview shows it.
func writeCluster(out io.Writer, cl api.Cluster) {
	rows := [][]string{
		{"Name:", cl.ClusterName},
		{"ARN:", cl.ClusterArn},
		{"Status:", cl.Status},
		{"Registered instances:", count(cl.RegisteredContainerInstancesCount)},
		{"Running tasks:", count(cl.RunningTasksCount)},
		{"Pending tasks:", count(cl.PendingTasksCount)},
		{"Active services:", count(cl.ActiveServicesCount)},
	}
	for _, s := range cl.Statistics {
		rows = append(rows, []string{"Statistic " + s.Name + ":", s.Value})
	}
	for _, s := range cl.Settings {
		rows = append(rows, []string{"Setting " + s.Name + ":", s.Value})
	}
	for _, t := range cl.Tags {
		rows = append(rows, []string{"Tag " + t.Key + ":", t.Value})
	}
	writeFields(out, "", 0, rows)
}

func runClusterDelete(ctx context.Context, out io.Writer, opts *clientOptions, ref string) error {
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	res, err := c.DeleteCluster(ctx, &api.DeleteClusterInput{Cluster: ref})
	if err != nil {
		return serverError(err)
	}
	if opts.output == "json" {
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "deleted %s (now %s)\n", res.Cluster.ClusterArn, res.Cluster.Status)
	return nil
}

func count(n int32) string { return strconv.Itoa(int(n)) }
