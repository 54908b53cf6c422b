package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/term"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/typo"
)

// PullBehavior is ECS_IMAGE_PULL_BEHAVIOR: when the agent pulls an image and
// when it makes do with the one the engine already has.
type PullBehavior string

// Pull behaviours.
const (
	// PullDefault pulls, and falls back to a cached image if the pull fails.
	PullDefault PullBehavior = "default"
	// PullAlways pulls; a failed pull fails the task even with a cached image.
	PullAlways PullBehavior = "always"
	// PullOnce pulls an image the first time this agent needs it and uses
	// the cached one after that.
	PullOnce PullBehavior = "once"
	// PullPreferCached uses a cached image when there is one and pulls
	// otherwise.
	PullPreferCached PullBehavior = "prefer-cached"
)

// ParsePullBehavior accepts the names ECS_IMAGE_PULL_BEHAVIOR takes; "" is
// the default behaviour.
func ParsePullBehavior(s string) (PullBehavior, error) {
	switch b := PullBehavior(s); b {
	case "":
		return PullDefault, nil
	case PullDefault, PullAlways, PullOnce, PullPreferCached:
		return b, nil
	}
	return "", fmt.Errorf("pull behavior %q is not default, always, once or prefer-cached", s)
}

// ensureImage builds berth's image ref (PauseRef or DemoRef) when it is
// missing or stale, its progress shown where the agent's pulls show
// theirs.
func (a *Agent) ensureImage(ctx context.Context, ref string) error {
	if a.puller != nil {
		ctx = images.WithProgress(ctx, a.puller.progress)
	}
	return images.Ensure(ctx, a.docker, a.binaryPath, ref)
}

// puller gets images onto the engine for the tasks of one agent.
type puller struct {
	a *Agent
	// pulled remembers the images this agent pulled, for PullOnce.
	mu     sync.Mutex
	pulled map[string]bool
	// progress receives a progress line while pulling; nil for none.
	progress io.Writer
}

// ensure makes ref available on the engine following behavior. warning is
// set when a failed pull fell back to a cached image. berth's own images are
// never pulled: they are built from the berth binary.
func (p *puller) ensure(ctx context.Context, ref string, behavior PullBehavior) (warning string, err error) {
	if images.IsBerthImage(ref) {
		if err := p.a.ensureImage(ctx, ref); err != nil {
			return "", engineErr(CannotPullContainerError, "build berth image %s: %w", ref, err)
		}
		return "", nil
	}
	cached, err := p.cached(ctx, ref)
	if err != nil {
		return "", engineErr(CannotPullContainerError, "inspect image %s: %w", ref, err)
	}
	p.mu.Lock()
	pulledBefore := p.pulled[ref]
	p.mu.Unlock()
	switch behavior {
	case PullPreferCached:
		if cached {
			return "", nil
		}
	case PullOnce:
		if cached && pulledBefore {
			return "", nil
		}
	}
	pullErr := p.pull(ctx, ref)
	if pullErr == nil {
		p.mu.Lock()
		p.pulled[ref] = true
		p.mu.Unlock()
		return "", nil
	}
	if behavior != PullAlways && cached && ctx.Err() == nil {
		return fmt.Sprintf("pull of %s failed, using the cached image: %v", ref, pullErr), nil
	}
	return "", engineErr(CannotPullContainerError, "pull image %s: %w%s", ref, pullErr, berthImageHint(ref))
}

// berthImageHint explains a failed pull of an image under berth/ that is not
// one berth builds: most likely a typo of berth/demo, which Docker then
// looks for on Docker Hub, failing offline with a lookup error that points
// nowhere near the mistake. It returns "" for every other reference, so
// that their failure reads exactly as on ECS.
func berthImageHint(ref string) string {
	if images.IsBerthImage(ref) {
		return ""
	}
	name, ok := strings.CutPrefix(images.Repository(ref), "berth/")
	if !ok || name == "" {
		return ""
	}
	refs := images.Refs()
	hint := " (berth builds only " + strings.Join(refs[:len(refs)-1], ", ") + " and " + refs[len(refs)-1] + " from its own binary"
	for _, built := range refs {
		// The tag is not compared: berth builds only one, so a wrong tag on
		// the right repository is a typo too. Names of berth's images are
		// short, so one typo is all a guess can safely allow.
		if builtName := strings.TrimPrefix(images.Repository(built), "berth/"); typo.Distance(name, builtName) <= 1 {
			return hint + "; did you mean " + built + "?)"
		}
	}
	return hint + ")"
}

func (p *puller) cached(ctx context.Context, ref string) (bool, error) {
	_, err := p.a.docker.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// pull pulls ref, reading the engine's progress stream to its end: the
// stream, not the HTTP status, carries a failure half-way through.
func (p *puller) pull(ctx context.Context, ref string) error {
	body, err := p.a.docker.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer body.Close()
	line := newProgressLine(p.progress, ref)
	defer line.done()
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read pull progress: %w", err)
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		line.update(&m)
	}
}

// progressLine shows one line per pull on a terminal, rewritten in place:
// the layers done and the bytes fetched so far. It writes nothing when the
// writer is not a terminal, where a rewritten line would only be noise.
type progressLine struct {
	w        io.Writer
	ref      string
	current  map[string]int64
	total    map[string]int64
	finished map[string]bool
}

func newProgressLine(w io.Writer, ref string) *progressLine {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(f.Fd()) {
		w = nil
	}
	return &progressLine{w: w, ref: ref, current: map[string]int64{}, total: map[string]int64{}, finished: map[string]bool{}}
}

func (l *progressLine) update(m *jsonmessage.JSONMessage) {
	if l.w == nil || m.ID == "" {
		return
	}
	switch {
	case m.Progress != nil && m.Progress.Total > 0:
		l.current[m.ID] = m.Progress.Current
		l.total[m.ID] = m.Progress.Total
	case strings.HasPrefix(m.Status, "Pull complete"), strings.HasPrefix(m.Status, "Already exists"):
		l.finished[m.ID] = true
		l.current[m.ID] = l.total[m.ID]
	default:
		if _, ok := l.total[m.ID]; !ok {
			l.total[m.ID] = 0
		}
	}
	var cur, tot int64
	for id := range l.total {
		cur += l.current[id]
		tot += l.total[id]
	}
	fmt.Fprintf(l.w, "\r\033[KPulling %s: %d/%d layers, %.1f/%.1f MB", l.ref, len(l.finished), len(l.total), float64(cur)/1e6, float64(tot)/1e6)
}

func (l *progressLine) done() {
	if l.w != nil && len(l.total) > 0 {
		fmt.Fprintln(l.w)
	}
}
