package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/client"
	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
)

type imagesOptions struct {
	output string
}

func newImagesCommand() *cobra.Command {
	var opts imagesOptions
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List the images berth builds from its own binary (pause, demo)",
		Long: `List the images berth builds from its own binary: ` + images.PauseRef + ` (the awsvpc
pause container) and ` + images.DemoRef + ` (the demo program). berth builds them
when a task needs them; an image built from another berth binary is stale
and is rebuilt on next use. An image is a function of the binary alone, so
CREATED is when that binary was written, and rebuilding it from the same
binary gives the same image.`,
		Args: cobra.NoArgs,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			if opts.output != "table" && opts.output != "json" {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--output %q: want table or json\nSee '%s --help'.", opts.output, cmd.CommandPath())}
			}
			return runImages(cmd.Context(), cmd.OutOrStdout(), opts)
		}),
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	cmd.AddCommand(newImagesBuildCommand(), newImagesEnsureCommand())
	return cmd
}

func runImages(ctx context.Context, out io.Writer, opts imagesOptions) error {
	api, err := dockerClient()
	if err != nil {
		return err
	}
	defer api.Close()
	infos, err := images.List(ctx, api)
	if err != nil {
		return err
	}
	if opts.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	writeImagesTable(out, infos, time.Now())
	return nil
}

func writeImagesTable(out io.Writer, infos []images.Info, now time.Time) {
	tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tSTATUS\tID\tSIZE\tCREATED\tBINARY")
	for _, i := range infos {
		id, size, created, binary := "-", "-", "-", "-"
		if i.ID != "" {
			id = shortDigest(i.ID)
			size = units.HumanSize(float64(i.Size))
			created = units.HumanDuration(now.Sub(i.Created)) + " ago"
			binary = shortDigest(i.BinaryDigest)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.Ref, i.Status, id, size, created, binary)
	}
	tw.Flush()
}

// shortDigest shortens "sha256:0123…" to its first 12 hex digits, as
// `docker images` does.
func shortDigest(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		d = d[7:]
	}
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

type imagesEnsureOptions struct {
	as []string // tags to use instead of the images' own references, one per NAME
}

// newImagesEnsureCommand does what a task's start does before it runs a
// container: build each image that is missing or stale, and nothing else.
// It is hidden, as berth does it by itself; it lets a class prepare a
// machine in advance and a test run many first starts at once (--as keeps
// such a test off berth's own images).
func newImagesEnsureCommand() *cobra.Command {
	var opts imagesEnsureOptions
	cmd := &cobra.Command{
		Use:    "ensure [NAME...] [--as REF...]",
		Short:  "Build berth's images that are missing or stale",
		Hidden: true,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			refs, err := imageRefsNamed(args)
			if err != nil {
				return err
			}
			if len(opts.as) > 0 && len(opts.as) != len(args) {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--as: %d REFs for %d NAMEs, want one for each\nSee '%s --help'.", len(opts.as), len(args), cmd.CommandPath())}
			}
			return runImagesEnsure(images.WithProgress(cmd.Context(), cmd.ErrOrStderr()), refs, opts)
		}),
	}
	cmd.Flags().StringArrayVar(&opts.as, "as", nil, "tag the image of the NAME in the same place as REF instead of its own reference")
	return cmd
}

func runImagesEnsure(ctx context.Context, refs []string, opts imagesEnsureOptions) error {
	self, api, err := berthAndEngine()
	if err != nil {
		return err
	}
	defer api.Close()
	for i, ref := range refs {
		as := ref
		if len(opts.as) > 0 {
			as = opts.as[i]
		}
		if err := images.EnsureAs(ctx, api, self, ref, as); err != nil {
			return err
		}
	}
	return nil
}

// imageRefsNamed returns the references of the images called names (pause,
// demo or a reference), or of every image when names is empty.
func imageRefsNamed(names []string) ([]string, error) {
	if len(names) == 0 {
		return images.Refs(), nil
	}
	var refs []string
	for _, name := range names {
		ref, err := images.KindNamed(name)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

type imagesBuildOptions struct {
	all bool
}

func newImagesBuildCommand() *cobra.Command {
	var opts imagesBuildOptions
	cmd := &cobra.Command{
		Use:   "build [--all | NAME...]",
		Short: "Rebuild berth's images from this berth binary",
		Long: `Rebuild berth's images from this berth binary, whether or not they are
current. NAME is pause, demo or an image reference; no NAME (or --all)
rebuilds every image. On a terminal, a line on standard error shows how
much of each image has gone to the engine; piped, only the result lines are
printed.`,
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, args []string) error {
			if opts.all && len(args) > 0 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--all and NAME exclude each other\nSee '%s --help'.", cmd.CommandPath())}
			}
			refs, err := imageRefsNamed(args)
			if err != nil {
				return err
			}
			return runImagesBuild(images.WithProgress(cmd.Context(), cmd.ErrOrStderr()), cmd.OutOrStdout(), refs)
		}),
	}
	cmd.Flags().BoolVar(&opts.all, "all", false, "rebuild every image (the default)")
	return cmd
}

func runImagesBuild(ctx context.Context, out io.Writer, refs []string) error {
	self, api, err := berthAndEngine()
	if err != nil {
		return err
	}
	defer api.Close()
	for _, ref := range refs {
		start := time.Now()
		if err := images.Build(ctx, api, self, ref); err != nil {
			return err
		}
		fmt.Fprintf(out, "built %s in %s\n", ref, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// berthAndEngine is the berth binary images are built from (this one) and a
// client of the engine they are built on.
func berthAndEngine() (string, client.APIClient, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("locate the berth binary: %w", err)
	}
	api, err := dockerClient()
	if err != nil {
		return "", nil, err
	}
	return self, api, nil
}
