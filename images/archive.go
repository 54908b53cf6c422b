package images

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// The image is assembled here in the format `docker save` writes and
// `docker load` reads: a tar holding manifest.json, the image config and one
// layer tar. Loading it needs neither a registry nor the builder, and works
// the same on every engine version berth supports.
//
//	manifest.json         [{Config, RepoTags, Layers}]
//	<config-hex>.json     architecture, os, config (entrypoint, labels), rootfs diff IDs
//	<layer-hex>/layer.tar /berth, /etc/passwd, /etc/group, /tmp, shared libraries

// layerTime stamps every entry of the layer. A fixed time makes the layer a
// function of its content alone, so two builds from the same binary produce
// the same layer and the engine stores it once for both images.
var layerTime = time.Unix(0, 0).UTC()

const (
	etcPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	etcGroup = "root:x:0:\n" +
		"nobody:x:65534:\n"
	// Name lookups go to /etc/hosts (which Docker provides) and then DNS,
	// the order Go's own resolver uses when it is in charge.
	etcNsswitch = "passwd: files\ngroup: files\nhosts: files dns\n"
)

// layerEntry is one file or directory of the layer.
type layerEntry struct {
	name    string // relative to /, no leading slash
	mode    int64
	dir     bool
	content string // for small generated files
	source  string // for files copied from this machine
}

// layerEntries lists the layer's content: the berth binary, the files that
// let `user: nobody` resolve, a world-writable /tmp, and whatever the binary
// needs to run when it is dynamically linked.
func layerEntries(binaryPath string) ([]layerEntry, error) {
	entries := []layerEntry{
		{name: "berth", mode: 0o755, source: binaryPath},
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, content: etcPasswd},
		{name: "etc/group", mode: 0o644, content: etcGroup},
		{name: "etc/nsswitch.conf", mode: 0o644, content: etcNsswitch},
		{name: "root", mode: 0o700, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	}
	libs, err := runtimeFiles(binaryPath)
	if err != nil {
		return nil, err
	}
	for _, lib := range libs {
		entries = append(entries, layerEntry{name: strings.TrimPrefix(lib.path, "/"), mode: 0o755, source: lib.source})
	}
	return withParents(entries), nil
}

// withParents adds a directory entry for every parent that has none and
// sorts the result so a directory comes before its content.
func withParents(entries []layerEntry) []layerEntry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.name] = true
	}
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "." && !have[dir]; dir = path.Dir(dir) {
			have[dir] = true
			entries = append(entries, layerEntry{name: dir, mode: 0o755, dir: true})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries
}

// writeLayer writes the layer tar to w.
func writeLayer(w io.Writer, entries []layerEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: layerTime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("layer: %s: %w", e.name, err)
			}
		case e.source != "":
			if err := copyFileInto(tw, hdr, e.source); err != nil {
				return fmt.Errorf("layer: /%s: %w", e.name, err)
			}
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.content))
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("layer: %s: %w", e.name, err)
			}
			if _, err := io.WriteString(tw, e.content); err != nil {
				return fmt.Errorf("layer: %s: %w", e.name, err)
			}
		}
	}
	return tw.Close()
}

func copyFileInto(tw *tar.Writer, hdr *tar.Header, source string) error {
	f, err := os.Open(source)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag = tar.TypeReg
	hdr.Size = fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return err
	}
	if n != fi.Size() {
		return fmt.Errorf("%s changed size while being read", source)
	}
	return nil
}

// countingHash measures the layer in a first pass: its digest goes into the
// image config and its size into the outer tar header, both of which precede
// the layer itself in the stream.
type countingHash struct {
	n int64
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// imageConfig is the part of the image config (image-spec v1) berth sets.
type imageConfig struct {
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Created      time.Time       `json:"created"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
	History      []history       `json:"history"`
}

type containerConfig struct {
	Entrypoint []string          `json:"Entrypoint"`
	Env        []string          `json:"Env"`
	WorkingDir string            `json:"WorkingDir"`
	Labels     map[string]string `json:"Labels"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// writeArchive streams a docker-archive of the image ref to w.
func writeArchive(w io.Writer, k kind, ref, binaryDigest string, entries []layerEntry, created time.Time) error {
	measure := &countingHash{h: sha256.New()}
	if err := writeLayer(measure, entries); err != nil {
		return err
	}
	layerHex := hex.EncodeToString(measure.h.Sum(nil))

	cfg := imageConfig{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      created,
		Config: containerConfig{
			Entrypoint: k.entrypoint,
			Env:        []string{"PATH=/"},
			WorkingDir: "/",
			Labels: map[string]string{
				LabelKind:         k.name,
				LabelBinaryDigest: binaryDigest,
			},
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{"sha256:" + layerHex}},
		History: []history{{Created: created, CreatedBy: "berth images build " + k.name}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cfgSum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	layerName := layerHex + "/layer.tar"
	manifest, err := json.Marshal([]manifestEntry{{Config: cfgName, RepoTags: []string{ref}, Layers: []string{layerName}}})
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}

	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {cfgName, cfgJSON}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: created, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("image archive: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: layerHex + "/", Mode: 0o755, ModTime: created, Typeflag: tar.TypeDir}); err != nil {
		return fmt.Errorf("image archive: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: layerName, Mode: 0o644, Size: measure.n, ModTime: created, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("image archive: %w", err)
	}
	if err := writeLayer(tw, entries); err != nil {
		return err
	}
	return tw.Close()
}
