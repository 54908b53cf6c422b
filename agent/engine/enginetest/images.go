package enginetest

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type fakeImage struct {
	id      string
	labels  map[string]string
	created time.Time
}

// normalize gives a reference its default tag and drops Docker Hub's
// default registry and namespace, so that "busybox",
// "busybox:latest" and "docker.io/library/busybox:latest" are one image.
func normalize(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "library/")
	name := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		name = ref[i+1:]
	}
	if !strings.Contains(name, ":") && !strings.Contains(name, "@") {
		ref += ":latest"
	}
	return ref
}

// imageLocked finds an image by reference or ID.
func (e *Engine) imageLocked(ref string) *fakeImage {
	if id, ok := e.tags[normalize(ref)]; ok {
		return e.images[id]
	}
	if img, ok := e.images[ref]; ok {
		return img
	}
	if !strings.HasPrefix(ref, "sha256:") && len(ref) >= 12 {
		for id, img := range e.images {
			if strings.HasPrefix(id, "sha256:"+ref) {
				return img
			}
		}
	}
	return nil
}

// tagLocked points ref at the image id, taking it from any other image.
func (e *Engine) tagLocked(ref, id string) {
	e.tags[normalize(ref)] = id
}

// refsLocked are the references that name the image id.
func (e *Engine) refsLocked(id string) []string {
	var refs []string
	for ref, to := range e.tags {
		if to == id {
			refs = append(refs, ref)
		}
	}
	slices.Sort(refs)
	return refs
}

// AddImage puts an image with labels on the engine under ref, as a pull
// or a load would, and returns its ID.
func (e *Engine) AddImage(ref string, labels map[string]string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addImageLocked(ref, labels)
}

func (e *Engine) addImageLocked(ref string, labels map[string]string) string {
	sum := sha256.Sum256([]byte(normalize(ref) + "\x00" + fmt.Sprint(labels)))
	id := "sha256:" + hex.EncodeToString(sum[:])
	if _, ok := e.images[id]; !ok {
		e.images[id] = &fakeImage{id: id, labels: maps.Clone(labels), created: e.clock.Now()}
	}
	e.tagLocked(ref, id)
	return id
}

// Publish makes ref pullable, with labels: ImagePull of any other
// reference fails as a pull of an image no registry has.
func (e *Engine) Publish(ref string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.registry[normalize(ref)] = maps.Clone(labels)
}

// ImageInspect describes an image, by reference or ID.
func (e *Engine) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if err := e.enter(ctx, "ImageInspect", ref); err != nil {
		return image.InspectResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img := e.imageLocked(ref)
	if img == nil {
		return image.InspectResponse{}, notFound("No such image: %s", ref)
	}
	return image.InspectResponse{
		ID:           img.id,
		RepoTags:     e.refsLocked(img.id),
		Created:      dockerTime(img.created),
		Architecture: "amd64",
		Os:           "linux",
		Config:       &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: maps.Clone(img.labels)}},
	}, nil
}

// ImageList lists the images that pass the filters label and dangling
// (an image no reference names).
func (e *Engine) ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error) {
	if err := e.enter(ctx, "ImageList", ""); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f := options.Filters
	var out []image.Summary
	for id, img := range e.images {
		refs := e.refsLocked(id)
		if !matchLabels(f, img.labels) || !matchDangling(f, len(refs) == 0) {
			continue
		}
		out = append(out, image.Summary{ID: id, RepoTags: refs, Labels: maps.Clone(img.labels), Created: img.created.Unix()})
	}
	slices.SortFunc(out, func(a, b image.Summary) int { return int(b.Created - a.Created) })
	return out, nil
}

func matchDangling(f filters.Args, dangling bool) bool {
	if !f.Contains("dangling") {
		return true
	}
	want, err := f.GetBoolOrDefault("dangling", false)
	return err == nil && want == dangling
}

// ImagePull fetches an image Publish made pullable; any other is refused
// as Docker Hub refuses a repository it does not have.
func (e *Engine) ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error) {
	if err := e.enter(ctx, "ImagePull", ref); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	labels, ok := e.registry[normalize(ref)]
	if !ok {
		return nil, notFound("pull access denied for %s, repository does not exist or may require 'docker login'", ref)
	}
	id := e.addImageLocked(ref, labels)
	progress := fmt.Sprintf("{\"status\":\"Pulling from %s\"}\n{\"status\":\"Digest: %s\"}\n{\"status\":\"Status: Downloaded newer image for %s\"}\n", ref, id, ref)
	return io.NopCloser(strings.NewReader(progress)), nil
}

// ImageLoad loads the images of a docker-archive (as `docker save`
// writes and the images package builds): their references and labels.
func (e *Engine) ImageLoad(ctx context.Context, input io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	if err := e.enter(ctx, "ImageLoad", ""); err != nil {
		return image.LoadResponse{}, err
	}
	loaded, err := readArchive(input)
	if err != nil {
		return image.LoadResponse{}, invalid("load: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out strings.Builder
	for _, l := range loaded {
		sum := sha256.Sum256(l.config)
		id := "sha256:" + hex.EncodeToString(sum[:])
		if _, ok := e.images[id]; !ok {
			e.images[id] = &fakeImage{id: id, labels: l.labels, created: e.clock.Now()}
		}
		for _, ref := range l.refs {
			e.tagLocked(ref, id)
			fmt.Fprintf(&out, "{\"stream\":\"Loaded image: %s\\n\"}\n", ref)
		}
	}
	return image.LoadResponse{Body: io.NopCloser(strings.NewReader(out.String())), JSON: true}, nil
}

type archivedImage struct {
	refs   []string
	config []byte
	labels map[string]string
}

// readArchive reads a docker-archive's manifest.json and image configs.
func readArchive(r io.Reader) ([]archivedImage, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Name != "manifest.json" && !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = body
	}
	var manifest []struct {
		Config   string
		RepoTags []string
	}
	raw, ok := files["manifest.json"]
	if !ok {
		return nil, errors.New("no manifest.json in the archive")
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var out []archivedImage
	for _, m := range manifest {
		cfg, ok := files[m.Config]
		if !ok {
			return nil, fmt.Errorf("no config %s in the archive", m.Config)
		}
		var parsed struct {
			Config struct{ Labels map[string]string } `json:"config"`
		}
		if err := json.Unmarshal(cfg, &parsed); err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config, err)
		}
		out = append(out, archivedImage{refs: m.RepoTags, config: cfg, labels: parsed.Config.Labels})
	}
	return out, nil
}

// ImageRemove removes a reference, or an image by ID with all its
// references; an image a container uses is a Conflict.
func (e *Engine) ImageRemove(ctx context.Context, ref string, options image.RemoveOptions) ([]image.DeleteResponse, error) {
	if err := e.enter(ctx, "ImageRemove", ref); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img := e.imageLocked(ref)
	if img == nil {
		return nil, notFound("No such image: %s", ref)
	}
	var out []image.DeleteResponse
	if _, byRef := e.tags[normalize(ref)]; byRef && !strings.HasPrefix(ref, "sha256:") {
		delete(e.tags, normalize(ref))
		out = append(out, image.DeleteResponse{Untagged: normalize(ref)})
		if len(e.refsLocked(img.id)) > 0 {
			return out, nil
		}
	}
	for _, c := range e.containers {
		if c.imageID == img.id && !options.Force {
			return out, conflict("unable to delete %s (must be forced) - image is being used by container %s", img.id, c.id[:12])
		}
	}
	for _, r := range e.refsLocked(img.id) {
		delete(e.tags, r)
		out = append(out, image.DeleteResponse{Untagged: r})
	}
	delete(e.images, img.id)
	return append(out, image.DeleteResponse{Deleted: img.id}), nil
}
