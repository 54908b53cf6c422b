package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/cost"
)

// costOptions are berth cost's flags.
type costOptions struct {
	clientOptions
	cluster string
	prices  string
}

func newCostCommand() *cobra.Command {
	var opts costOptions
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Show what a cluster's capacity would have cost on AWS so far, by launch type",
		Long: `Show what a cluster's capacity would have cost on AWS so far, by launch
type, as AWS bills it: a Fargate task by its size (vCPU, memory, ephemeral
storage beyond 20 GiB) from the start of its image pull to its stop, per
second with a one-minute minimum, Fargate Spot at its own rates; an EC2
container instance by its time registered, busy or idle, at its instance
type's on-demand price, the tasks on it adding nothing.

The prices are the server's table (berth's own for one region, with the
date they were taken, unless the server was started with --prices);
--prices FILE reads a JSON table over berth's instead (docs/cli.md shows
its members): a member given replaces the default, an instance type given
is added.`,
		Example: "  berth cost --cluster class\n  berth cost --prices eu-west-1.json -o json",
		Args:    argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			return runCost(cmd.Context(), cmd.OutOrStdout(), &opts)
		}),
	}
	opts.addClientFlags(cmd, "table", "json")
	cmd.Flags().StringVar(&opts.cluster, "cluster", "", "the cluster (default: default)")
	cmd.Flags().StringVar(&opts.prices, "prices", "", "a price table in JSON over berth's own (default: the server's)")
	return cmd
}

// costReport is berth cost's answer, and its shape with -o json.
type costReport struct {
	Cluster string    `json:"cluster"`
	Now     time.Time `json:"now"`
	Prices  struct {
		Region  string `json:"region"`
		TakenOn string `json:"takenOn"`
		Source  string `json:"source"`
	} `json:"prices"`
	Fargate launchTypeCost `json:"fargate"`
	EC2     launchTypeCost `json:"ec2"`
	Total   float64        `json:"totalDollars"`
	// UnpricedInstanceTypes are the types of instances left out of EC2:
	// the table has no price for them ("" for an instance registered by
	// size, without a type).
	UnpricedInstanceTypes []string `json:"unpricedInstanceTypes"`
}

// launchTypeCost is what one launch type's capacity has cost.
type launchTypeCost struct {
	Items         int     `json:"items"`
	BilledSeconds float64 `json:"billedSeconds"`
	Dollars       float64 `json:"dollars"`
}

func runCost(ctx context.Context, out io.Writer, opts *costOptions) error {
	prices, err := loadPrices(opts.prices)
	if err != nil {
		return err
	}
	c, err := opts.client("table", "json")
	if err != nil {
		return err
	}
	billing, err := c.Billing(ctx, opts.cluster)
	if err != nil {
		return serverError(err)
	}
	if opts.prices == "" && billing.Prices != nil {
		prices = *billing.Prices
	}
	bill := billing.Priced(prices)
	r := costReport{Cluster: billing.Cluster, Now: billing.Now, UnpricedInstanceTypes: bill.Unpriced,
		Fargate: launchTypeCost{bill.Fargate.Items, bill.Fargate.Billed.Seconds(), bill.Fargate.Dollars},
		EC2:     launchTypeCost{bill.EC2.Items, bill.EC2.Billed.Seconds(), bill.EC2.Dollars},
		Total:   bill.Fargate.Dollars + bill.EC2.Dollars}
	r.Prices.Region, r.Prices.TakenOn, r.Prices.Source = prices.Region, prices.TakenOn, prices.Source
	if r.UnpricedInstanceTypes == nil {
		r.UnpricedInstanceTypes = []string{}
	}
	if opts.output == "json" {
		return writeJSON(out, r)
	}
	writeCost(out, r)
	return nil
}

// loadPrices is berth's price table, or the file's over it: the --prices
// of berth cost, berth compare and berth server. A file that cannot be
// read or is no price table is a usage error naming the file and what is
// wrong in it.
func loadPrices(path string) (cost.Prices, error) {
	if path == "" {
		return cost.Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return cost.Prices{}, usageError("--prices %s: cannot read: %v", path, err)
	}
	defer f.Close()
	p, err := cost.Load(f)
	if err != nil {
		return cost.Prices{}, usageError("--prices %s: %v", path, err)
	}
	return p, nil
}

// writeCost prints the report as a table a person reads.
func writeCost(w io.Writer, r costReport) {
	fmt.Fprintf(w, "cluster %s: what its capacity would have cost on AWS so far\n", r.Cluster)
	fmt.Fprintf(w, "prices: %s, taken %s (%s)\n\n", r.Prices.Region, r.Prices.TakenOn, r.Prices.Source)
	billed := func(seconds float64) string {
		return (time.Duration(seconds) * time.Second).String()
	}
	table(w, "LAUNCH TYPE\tBILLED FOR\tTIME BILLED\tCOST", [][]string{
		{"FARGATE", plural(r.Fargate.Items, "task"), billed(r.Fargate.BilledSeconds), dollars(r.Fargate.Dollars)},
		{"EC2", plural(r.EC2.Items, "instance"), billed(r.EC2.BilledSeconds), dollars(r.EC2.Dollars)},
		{"total", "", "", dollars(r.Total)},
	})
	if len(r.UnpricedInstanceTypes) > 0 {
		names := make([]string, len(r.UnpricedInstanceTypes))
		for i, t := range r.UnpricedInstanceTypes {
			names[i] = cmp.Or(t, "(registered by size, no type)")
		}
		fmt.Fprintf(w, "\nleft out of EC2, the table has no price for: %s; register instances with --instance-type, or add the type to a table given with --prices\n",
			strings.Join(names, ", "))
	}
}

// dollars prints an amount to a hundredth of a cent: a task of a few
// minutes costs less than one.
func dollars(v float64) string { return fmt.Sprintf("$%.4f", v) }
