// Package images builds and maintains the images berth needs on a Docker
// engine without any registry or network: the awsvpc pause image and the
// demo image. Both hold nothing but the berth binary at /berth (plus, when
// berth was built with cgo, its ELF interpreter and shared libraries) and a
// minimal /etc; they differ only in their entrypoint:
//
//	berth/pause:latest  /berth pause   owns a task's network namespace
//	berth/demo:latest   /berth demo    the demo program (see package demo)
//
// Each image is labelled with the sha256 of the binary it was built from.
// Ensure compares that label with the binary berth is running from and
// rebuilds on a mismatch, so a new berth brings new images with it:
//
//	Ensure ─ stat binary (digest cached by path, size, mtime)
//	       ─ inspect ref: label matches? ── yes → done
//	       └ no/missing → lock engine+kind → inspect again → Build
//	Build  ─ layer tar + config + manifest.json → ImageLoad → remove replaced images
//
// The lock is taken across processes (an flock, see lock.go), and the image
// is a pure function of the binary, so any number of berth processes that
// find an image missing at once end with one image, tagged, and nothing
// untagged left behind.
package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// The images berth builds.
const (
	PauseRef = "berth/pause:latest" // the awsvpc pause container: owns a task's network namespace
	DemoRef  = "berth/demo:latest"  // the demo program for examples, tests and classes
)

// Labels on every image berth builds.
const (
	// LabelKind names what the image runs: "pause" or "demo".
	LabelKind = "dev.berth.image"
	// LabelBinaryDigest is the sha256 of the berth binary inside the image.
	LabelBinaryDigest = "dev.berth.binary-sha256"
)

// Engine is what the images package asks of the Docker engine. A Docker
// client is one; so is the agent's engine (agent/engine).
type Engine interface {
	ImageInspect(ctx context.Context, image string, options ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageLoad(ctx context.Context, input io.Reader, options ...client.ImageLoadOption) (image.LoadResponse, error)
	ImageRemove(ctx context.Context, image string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	// DaemonHost names the engine, which builds on it lock under.
	DaemonHost() string
}

// ErrUnknownImage is returned for a reference that is not one of berth's images.
var ErrUnknownImage = errors.New("not one of berth's images")

// kind is one of the images berth knows how to build.
type kind struct {
	name       string
	ref        string
	entrypoint []string
}

var kinds = []kind{
	{name: "pause", ref: PauseRef, entrypoint: []string{"/berth", "pause"}},
	{name: "demo", ref: DemoRef, entrypoint: []string{"/berth", "demo"}},
}

// kindOf returns the kind whose reference is ref, in any of the spellings
// Docker accepts for it ("berth/demo", "docker.io/berth/demo:latest").
func kindOf(ref string) (kind, bool) {
	n := normalize(ref)
	for _, k := range kinds {
		if k.ref == n {
			return k, true
		}
	}
	return kind{}, false
}

// KindNamed returns the reference of the image called name ("pause" or
// "demo"), or of name itself when it is already one of berth's references.
func KindNamed(name string) (string, error) {
	for _, k := range kinds {
		if k.name == name {
			return k.ref, nil
		}
	}
	if k, ok := kindOf(name); ok {
		return k.ref, nil
	}
	return "", fmt.Errorf("image %q: %w (want pause, demo, %s or %s)", name, ErrUnknownImage, PauseRef, DemoRef)
}

// Refs lists the references of all of berth's images.
func Refs() []string {
	refs := make([]string, len(kinds))
	for i, k := range kinds {
		refs[i] = k.ref
	}
	return refs
}

// normalize spells ref the way PauseRef and DemoRef are spelled: without the
// default registry and with the default tag.
func normalize(ref string) string {
	ref = trimDefaultRegistry(ref)
	if !strings.Contains(ref, "@") && !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		ref += ":latest"
	}
	return ref
}

// Repository returns ref without its tag, its digest and Docker Hub's host,
// which Docker adds by default: "docker.io/berth/demo:1" is "berth/demo".
func Repository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return trimDefaultRegistry(ref)
}

func trimDefaultRegistry(ref string) string {
	for _, host := range []string{"docker.io/", "index.docker.io/"} {
		if rest, ok := strings.CutPrefix(ref, host); ok {
			return rest
		}
	}
	return ref
}

// IsBerthImage reports whether ref names one of the images berth builds
// itself, which must never be pulled.
func IsBerthImage(ref string) bool {
	_, ok := kindOf(ref)
	return ok
}

// Ensure makes sure ref (PauseRef or DemoRef) exists on the engine and was
// built from the berth binary at binaryPath; it builds (or rebuilds when
// stale) otherwise. It is safe for concurrent use, within a process and
// across processes: concurrent callers for the same engine and ref build
// once.
func Ensure(ctx context.Context, api Engine, binaryPath, ref string) error {
	k, ok := kindOf(ref)
	if !ok {
		return fmt.Errorf("ensure image %q: %w", ref, ErrUnknownImage)
	}
	return ensure(ctx, api, binaryPath, k, k.ref)
}

// Build builds ref (PauseRef or DemoRef) from the berth binary at binaryPath
// whether or not it is current.
func Build(ctx context.Context, api Engine, binaryPath, ref string) error {
	k, ok := kindOf(ref)
	if !ok {
		return fmt.Errorf("build image %q: %w", ref, ErrUnknownImage)
	}
	return rebuild(ctx, api, binaryPath, k, k.ref)
}

// EnsureAs is Ensure for the image berthRef (PauseRef or DemoRef) tagged
// as ref instead: it lets a trial build, or a test, leave berth's own
// images alone.
func EnsureAs(ctx context.Context, api Engine, binaryPath, berthRef, ref string) error {
	k, ok := kindOf(berthRef)
	if !ok {
		return fmt.Errorf("ensure image %q: %w", berthRef, ErrUnknownImage)
	}
	return ensure(ctx, api, binaryPath, k, ref)
}

// rebuild builds the image of kind k tagged ref, waiting for any build of
// the same engine and kind in progress, in this process or another.
func rebuild(ctx context.Context, api Engine, binaryPath string, k kind, ref string) error {
	unlock, err := lockBuild(ctx, api, k)
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer unlock()
	return build(ctx, api, binaryPath, k, ref)
}

func ensure(ctx context.Context, api Engine, binaryPath string, k kind, ref string) error {
	digest, err := binaryDigest(binaryPath)
	if err != nil {
		return fmt.Errorf("ensure image %s: %w", ref, err)
	}
	// The hot path: one inspect, no lock.
	if cur, err := builtFrom(ctx, api, ref); err != nil {
		return fmt.Errorf("ensure image %s: %w", ref, err)
	} else if cur == digest {
		return nil
	}

	unlock, err := lockBuild(ctx, api, k)
	if err != nil {
		return fmt.Errorf("ensure image %s: %w", ref, err)
	}
	defer unlock()
	// Another caller, here or in another process, may have built it while
	// this one waited.
	if cur, err := builtFrom(ctx, api, ref); err != nil {
		return fmt.Errorf("ensure image %s: %w", ref, err)
	} else if cur == digest {
		return nil
	}
	return build(ctx, api, binaryPath, k, ref)
}

// builtFrom returns the binary digest ref was built from, or "" when ref is
// missing or was not built by berth.
func builtFrom(ctx context.Context, api Engine, ref string) (string, error) {
	insp, err := api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect: %w", err)
	}
	if insp.Config == nil {
		return "", nil
	}
	return insp.Config.Labels[LabelBinaryDigest], nil
}

// build loads a fresh image of kind k, tagged ref, built from binaryPath;
// callers hold the build lock of k. The image is a pure function of the
// binary file: the same binary always loads the same image ID, so loading
// it again, here or from another process that got past the lock (see
// lockFile), moves no tag and leaves no untagged image behind. The image ref
// named before, and older ones a rebuild left untagged, are removed once
// nothing uses them any more.
func build(ctx context.Context, api Engine, binaryPath string, k kind, ref string) error {
	digest, err := binaryDigest(binaryPath)
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	created, err := binaryTime(binaryPath)
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	entries, err := layerEntries(binaryPath)
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	var oldID string
	if insp, err := api.ImageInspect(ctx, ref); err == nil {
		oldID = insp.ID
	}

	line := progressOf(ctx, ref)
	defer line.done()
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeArchive(countingWriter{pw, line}, k, ref, digest, entries, created))
	}()
	resp, err := api.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build image %s: load: %w", ref, err)
	}
	err = readLoadResponse(resp.Body)
	resp.Body.Close()
	pr.Close()
	if err != nil {
		return fmt.Errorf("build image %s: load: %w", ref, err)
	}

	if oldID != "" {
		if insp, err := api.ImageInspect(ctx, ref); err == nil && insp.ID != oldID {
			removeIfUnused(ctx, api, oldID)
		}
	}
	pruneDangling(ctx, api, k)
	return nil
}

// binaryTime is the image's creation time: when the binary was written,
// which is the same for every process that builds from it, unlike the time
// of the build. Seconds are enough, and keep the config short.
func binaryTime(binaryPath string) (time.Time, error) {
	fi, err := os.Stat(binaryPath)
	if err != nil {
		return time.Time{}, fmt.Errorf("berth binary: %w", err)
	}
	return fi.ModTime().UTC().Truncate(time.Second), nil
}

// removeIfUnused removes the image id when no tag names it any more and no
// container uses it. Removing by ID would otherwise take the image's last
// tag with it, which may be a user's own (`docker tag berth/demo myclass`).
// The engine refuses to remove an image a container uses, which is the rest
// of "unused": that error is expected and ignored, and a later build's
// pruneDangling takes the image once the container is gone.
func removeIfUnused(ctx context.Context, api Engine, id string) {
	insp, err := api.ImageInspect(ctx, id)
	if err != nil || len(insp.RepoTags) > 0 {
		return
	}
	_, _ = api.ImageRemove(ctx, id, image.RemoveOptions{PruneChildren: true})
}

// pruneDangling removes the images of kind k that rebuilds have untagged and
// that no container uses any more. Builds remove the image they replace; this
// catches those a container was still using then. Callers hold the build
// lock of k, so no image of k is between its load and its tag, untagged but
// wanted, while this runs.
func pruneDangling(ctx context.Context, api Engine, k kind) {
	dangling, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
		filters.Arg("dangling", "true"),
		filters.Arg("label", LabelKind+"="+k.name),
	)})
	if err != nil {
		return
	}
	for _, img := range dangling {
		removeIfUnused(ctx, api, img.ID)
	}
}

// readLoadResponse drains the JSON message stream of an image load and
// returns the error it reports, if any.
func readLoadResponse(body io.Reader) error {
	dec := json.NewDecoder(body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read engine response: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// Status says whether an image is present and built from the current binary.
type Status string

// The statuses List reports.
const (
	StatusCurrent Status = "current" // built from the binary List compared against
	StatusStale   Status = "stale"   // built from another binary; Ensure rebuilds it
	StatusMissing Status = "missing" // not on the engine; Ensure builds it
)

// Info describes one of berth's images on an engine.
type Info struct {
	Ref          string    `json:"ref"`
	Kind         string    `json:"kind"`
	ID           string    `json:"id,omitempty"`
	Size         int64     `json:"size,omitempty"`
	Created      time.Time `json:"created,omitzero"` // when the binary it holds was written (see build)
	BinaryDigest string    `json:"binaryDigest,omitempty"`
	Status       Status    `json:"status"`
}

// Stale reports whether Ensure would build or rebuild the image.
func (i Info) Stale() bool { return i.Status != StatusCurrent }

// List describes berth's images on the engine, compared against the binary
// berth is running from: PauseRef and DemoRef always (as missing when
// absent), then any other image carrying berth's labels.
func List(ctx context.Context, api Engine) ([]Info, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("list images: locate the berth binary: %w", err)
	}
	return ListFrom(ctx, api, self)
}

// ListFrom is List compared against the berth binary at binaryPath.
func ListFrom(ctx context.Context, api Engine, binaryPath string) ([]Info, error) {
	digest, err := binaryDigest(binaryPath)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	summaries, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelKind))})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}

	byRef := map[string]Info{}
	for _, s := range summaries {
		for _, tag := range s.RepoTags {
			if tag == "<none>:<none>" { // untagged by a rebuild; pruned by a later one
				continue
			}
			info := Info{
				Ref:          tag,
				Kind:         s.Labels[LabelKind],
				ID:           s.ID,
				Size:         s.Size,
				Created:      time.Unix(s.Created, 0).UTC(),
				BinaryDigest: s.Labels[LabelBinaryDigest],
				Status:       StatusStale,
			}
			if info.BinaryDigest == digest {
				info.Status = StatusCurrent
			}
			byRef[tag] = info
		}
	}

	var infos []Info
	for _, k := range kinds {
		info, ok := byRef[k.ref]
		if !ok {
			info = Info{Ref: k.ref, Kind: k.name, Status: StatusMissing}
		}
		delete(byRef, k.ref)
		infos = append(infos, info)
	}
	var others []Info
	for _, info := range byRef {
		others = append(others, info)
	}
	sort.Slice(others, func(i, j int) bool { return others[i].Ref < others[j].Ref })
	return append(infos, others...), nil
}
