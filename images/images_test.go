package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/berthdev/berth/demo"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testRef returns a reference of the test's own, removed when it ends, so
// the tests never replace berth/demo or berth/pause under the feet of other
// packages' tests.
func testRef(t testing.TB, api client.APIClient, name string) string {
	var b [4]byte
	rand.Read(b[:])
	ref := "berth-test/" + name + ":" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := api.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove %s: %v", ref, err)
		}
	})
	return ref
}

// uniqueBinary copies the berth binary with random bytes appended, which
// the binary ignores: a binary whose digest no other test shares.
func uniqueBinary(t testing.TB, src string) string {
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b [16]byte
	rand.Read(b[:])
	dst := filepath.Join(t.TempDir(), "berth")
	if err := os.WriteFile(dst, append(data, b[:]...), 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func imageOf(t testing.TB, api client.APIClient, ref string) image.InspectResponse {
	t.Helper()
	insp, err := api.ImageInspect(ctxFor(t), ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return insp
}

func TestDemoImageRunsBerthBuiltWithAndWithoutCgo(t *testing.T) {
	api := testenv.Docker(t)
	for _, cgo := range []bool{false, true} {
		t.Run("cgo="+strconv.FormatBool(cgo), func(t *testing.T) {
			bin := testenv.BerthBinaryCGO(t, cgo)
			libs, err := images.RuntimeFilePaths(bin)
			if err != nil {
				t.Fatal(err)
			}
			if dynamic := len(libs) > 0; dynamic != cgo {
				t.Fatalf("berth built with cgo=%t is dynamically linked=%t (needs %q); the test would not cover what it says", cgo, dynamic, libs)
			}
			ref := testRef(t, api, "demo")
			if err := images.BuildAs(ctxFor(t), api, bin, images.DemoRef, ref); err != nil {
				t.Fatal(err)
			}

			runs := []struct {
				name     string
				cmd      []string
				user     string
				wantCode int64
				wantLog  string
			}{
				{"exit 3 exits with code 3", []string{"exit", "3"}, "", 3, "exiting with code 3"},
				{"user nobody resolves from /etc/passwd", []string{"env"}, "nobody", 0, "HOME=/nonexistent"},
				{"user 65534 resolves from /etc/passwd", []string{"env"}, "65534", 0, "HOME=/nonexistent"},
				{"nobody can write to /tmp", []string{"write", "/tmp/note", "hello"}, "nobody", 0, "wrote 6 bytes to /tmp/note"},
				{"a file nobody can read is an error", []string{"read", "/tmp/absent"}, "nobody", 1, "does not exist"},
			}
			for _, r := range runs {
				t.Run(r.name, func(t *testing.T) {
					code, logs := testenv.RunContainer(t, api, &container.Config{Image: ref, Cmd: r.cmd, User: r.user}, nil)
					if code != r.wantCode || !strings.Contains(logs, r.wantLog) {
						t.Errorf("berth demo %q as %q exited %d with output\n%s\nwant exit %d and output containing %q", r.cmd, r.user, code, logs, r.wantCode, r.wantLog)
					}
				})
			}

			t.Run("serve answers HTTP on a published port", func(t *testing.T) {
				port := nat.Port("8080/tcp")
				id := testenv.StartContainer(t, api,
					&container.Config{Image: ref, ExposedPorts: nat.PortSet{port: {}}, Env: []string{"DEMO_COLOR=blue"}},
					&container.HostConfig{PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1"}}}})
				insp, err := api.ContainerInspect(ctxFor(t), id)
				if err != nil {
					t.Fatal(err)
				}
				bindings := insp.NetworkSettings.Ports[port]
				if len(bindings) == 0 {
					t.Fatalf("port %s is not published: %v", port, insp.NetworkSettings.Ports)
				}
				base := "http://127.0.0.1:" + bindings[0].HostPort
				waitHealthy(t, base+"/health")

				resp, err := http.Get(base + "/json")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var d demo.Description
				if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
					t.Fatalf("decode /json: %v", err)
				}
				if d.Hostname != insp.Config.Hostname || d.Environment["DEMO_COLOR"] != "blue" || d.PID != 1 {
					t.Errorf("/json says hostname %q, DEMO_COLOR %q, pid %d; want %q, blue, 1", d.Hostname, d.Environment["DEMO_COLOR"], d.PID, insp.Config.Hostname)
				}

				timeout := 30
				if err := api.ContainerStop(ctxFor(t), id, container.StopOptions{Timeout: &timeout}); err != nil {
					t.Fatal(err)
				}
				code, logs := testenv.WaitContainer(t, api, id)
				if code != 0 || !strings.Contains(logs, "GET /json 200") {
					t.Errorf("serve stopped with exit %d and output\n%s\nwant exit 0 and the request logged", code, logs)
				}
			})
		})
	}
}

// waitHealthy polls url until it answers 200; the server needs a moment to
// listen after the container starts.
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	ctx := ctxFor(t)
	var last error
	for ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200: %v", url, last)
}

func TestContainersStopOnSIGTERMUnlessTheyIgnoreIt(t *testing.T) {
	api := testenv.Docker(t)
	bin := testenv.BerthBinary(t)
	pauseRef := testRef(t, api, "pause")
	demoRef := testRef(t, api, "demo")
	for berthRef, ref := range map[string]string{images.PauseRef: pauseRef, images.DemoRef: demoRef} {
		if err := images.BuildAs(ctxFor(t), api, bin, berthRef, ref); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name     string
		image    string
		cmd      []string
		ready    string // logged once the program handles signals
		timeout  int
		wantCode int
	}{
		{"the pause container exits 0 on SIGTERM", pauseRef, nil, "pause:", 30, 0},
		{"demo sleep exits 0 on SIGTERM", demoRef, []string{"sleep", "600"}, "sleeping", 30, 0},
		{"demo sleep --ignore-sigterm is killed after the stop timeout", demoRef, []string{"sleep", "600", "--ignore-sigterm"}, "sleeping", 1, 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := testenv.StartContainer(t, api, &container.Config{Image: tt.image, Cmd: tt.cmd}, nil)
			// Stop only once the program handles signals: before, Go's
			// runtime would end it with code 2.
			waitForLog(t, api, id, tt.ready)
			if err := api.ContainerStop(ctxFor(t), id, container.StopOptions{Timeout: &tt.timeout}); err != nil {
				t.Fatal(err)
			}
			if code, logs := testenv.WaitContainer(t, api, id); code != int64(tt.wantCode) {
				t.Errorf("stopped with exit %d, want %d; output:\n%s", code, tt.wantCode, logs)
			}
		})
	}
}

func waitForLog(t *testing.T, api client.APIClient, id, text string) {
	t.Helper()
	ctx := ctxFor(t)
	for ctx.Err() == nil {
		if strings.Contains(testenv.Logs(t, api, id), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s never logged %q", id, text)
}

func TestEnsureRebuildsOnlyWhenTheBinaryChanges(t *testing.T) {
	api := testenv.Docker(t)
	bin := testenv.BerthBinary(t)
	first, second := uniqueBinary(t, bin), uniqueBinary(t, bin)
	ref := testRef(t, api, "demo")
	ctx := ctxFor(t)

	if err := images.EnsureAs(ctx, api, first, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	built := imageOf(t, api, ref)
	firstDigest, _ := images.BinaryDigest(first)
	if got := built.Config.Labels[images.LabelBinaryDigest]; got != firstDigest {
		t.Fatalf("image labelled as built from %s, want %s", got, firstDigest)
	}

	if err := images.EnsureAs(ctx, api, first, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	if again := imageOf(t, api, ref); again.ID != built.ID {
		t.Errorf("Ensure rebuilt a current image: %s became %s", built.ID, again.ID)
	}

	for _, tc := range []struct {
		binary string
		want   images.Status
	}{{first, images.StatusCurrent}, {second, images.StatusStale}} {
		infos, err := images.ListFrom(ctx, api, tc.binary)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(infos, func(i images.Info) bool { return i.Ref == ref })
		if i < 0 || infos[i].Status != tc.want || infos[i].ID != built.ID || infos[i].Kind != "demo" {
			t.Errorf("List against %s: %+v; want %s listed as %s", tc.binary, infos, ref, tc.want)
		}
	}

	if err := images.EnsureAs(ctx, api, second, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	rebuilt := imageOf(t, api, ref)
	secondDigest, _ := images.BinaryDigest(second)
	if rebuilt.ID == built.ID || rebuilt.Config.Labels[images.LabelBinaryDigest] != secondDigest {
		t.Errorf("after the binary changed, %s is %s built from %s; want a new image built from %s",
			ref, rebuilt.ID, rebuilt.Config.Labels[images.LabelBinaryDigest], secondDigest)
	}
	if _, err := api.ImageInspect(ctx, built.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("the stale image %s is still on the engine (inspect: %v); want it removed", built.ID, err)
	}
}

func TestEnsureBuildsOnceForConcurrentCallers(t *testing.T) {
	api := testenv.Docker(t)
	bin := uniqueBinary(t, testenv.BerthBinary(t))
	digest, err := images.BinaryDigest(bin)
	if err != nil {
		t.Fatal(err)
	}
	ref := testRef(t, api, "demo")
	ctx := ctxFor(t)
	since := time.Now()

	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = images.EnsureAs(ctx, api, bin, images.DemoRef, ref)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	// The binary is this test's alone, so every load of an image built
	// from it is one of this test's builds.
	msgs, errc := api.Events(ctx, events.ListOptions{
		Since: strconv.FormatInt(since.Unix(), 10),
		Until: strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ImageEventType)),
			filters.Arg("event", "load"),
			filters.Arg("label", images.LabelBinaryDigest+"="+digest)),
	})
	loads := 0
	for done := false; !done; {
		select {
		case <-msgs:
			loads++
		case err := <-errc:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("engine events: %v", err)
			}
			done = true
		}
	}
	if loads != 1 {
		t.Errorf("%d concurrent Ensure calls loaded the image %d times, want once", callers, loads)
	}
}

func TestEnsureAndBuildRejectRefsThatAreNotBerths(t *testing.T) {
	for _, ref := range []string{"nginx:latest", "berth/demo:v2", "berth/other"} {
		t.Run(ref, func(t *testing.T) {
			// The reference is checked before the engine is used.
			if err := images.Ensure(context.Background(), nil, "/nonexistent", ref); !errors.Is(err, images.ErrUnknownImage) {
				t.Errorf("Ensure(%q) = %v, want ErrUnknownImage", ref, err)
			}
			if err := images.Build(context.Background(), nil, "/nonexistent", ref); !errors.Is(err, images.ErrUnknownImage) {
				t.Errorf("Build(%q) = %v, want ErrUnknownImage", ref, err)
			}
		})
	}
}

func TestIsBerthImage(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"berth/demo:latest", true},
		{"berth/demo", true},
		{"docker.io/berth/demo:latest", true},
		{"berth/pause", true},
		{"index.docker.io/berth/pause:latest", true},
		{"berth/demo:1.0", false},
		{"myregistry:5000/berth/demo", false},
		{"nginx", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := images.IsBerthImage(tt.ref); got != tt.want {
				t.Errorf("IsBerthImage(%q) = %t, want %t", tt.ref, got, tt.want)
			}
		})
	}
}

func TestKindNamedAcceptsNamesAndRefs(t *testing.T) {
	tests := []struct {
		name, want string
		wantErr    bool
	}{
		{"pause", images.PauseRef, false},
		{"demo", images.DemoRef, false},
		{"berth/demo", images.DemoRef, false},
		{"busybox", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := images.KindNamed(tt.name)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("KindNamed(%q) = %q, %v; want %q, error %t", tt.name, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRuntimeFilesOfADynamicBinaryIncludeItsInterpreterAndLibc(t *testing.T) {
	bin := testenv.BerthBinaryCGO(t, true)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		t.Fatal("berth built with cgo has no ELF interpreter; the test would not cover what it says")
	}
	paths, err := images.RuntimeFilePaths(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(paths, interp) || !slices.ContainsFunc(paths, func(p string) bool { return path.Base(p) == "libc.so.6" }) {
		t.Errorf("runtime files %q; want the interpreter %s and libc.so.6", paths, interp)
	}
}

func TestRuntimeFilesOfAStaticBinaryAreNone(t *testing.T) {
	paths, err := images.RuntimeFilePaths(testenv.BerthBinaryCGO(t, false))
	if err != nil || len(paths) != 0 {
		t.Errorf("runtime files of a static binary: %q, %v; want none", paths, err)
	}
}

func TestRuntimeFilesOfANonELFFileIsAnError(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if _, err := images.RuntimeFilePaths(script); err == nil {
		t.Error("runtime files of a shell script: no error, want one")
	}
}

func TestLayerHoldsTheBinaryUsersAndAWorldWritableTmp(t *testing.T) {
	bin := testenv.BerthBinaryCGO(t, false)
	entries, err := images.LayerEntries(bin)
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := images.WriteLayer(&first, entries); err != nil {
		t.Fatal(err)
	}
	images.WriteLayer(&second, entries)
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two layers written from the same binary differ; want identical layers so the engine stores one")
	}

	headers := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(&first)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if parent := path.Dir(name); parent != "." && headers[parent] == nil {
			t.Errorf("%s comes before its directory %s", name, parent)
		}
		headers[name] = hdr
		if hdr.Size < 4096 {
			b, _ := io.ReadAll(tr)
			contents[name] = string(b)
		}
	}
	fi, _ := os.Stat(bin)
	checks := []struct {
		name string
		ok   bool
	}{
		{"berth is an executable of the binary's size", headers["berth"] != nil && headers["berth"].Mode == 0o755 && headers["berth"].Size == fi.Size()},
		{"tmp is a directory with mode 1777", headers["tmp"] != nil && headers["tmp"].Typeflag == tar.TypeDir && headers["tmp"].Mode == 0o1777},
		{"etc/passwd has root and nobody", strings.Contains(contents["etc/passwd"], "root:x:0:0:") && strings.Contains(contents["etc/passwd"], "nobody:x:65534:65534:")},
		{"etc/group has root and nobody", strings.Contains(contents["etc/group"], "root:x:0:") && strings.Contains(contents["etc/group"], "nobody:x:65534:")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("want: %s", c.name)
		}
	}
}

func TestReadLoadResponse(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"a loaded image is no error", `{"stream":"Loaded image: berth/demo:latest\n"}`, ""},
		{"an empty stream is no error", ``, ""},
		{"an error detail is the error", `{"errorDetail":{"message":"invalid diffID"},"error":"invalid diffID"}`, "invalid diffID"},
		{"a bare error is the error", `{"stream":"x"}{"error":"no space left"}`, "no space left"},
		{"garbage is an error", `{"stream":`, "read engine response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := images.ReadLoadResponse(strings.NewReader(tt.body))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkEnsureCurrent measures the task-start path: the image is there
// and current, so Ensure stats the binary and inspects the image.
func BenchmarkEnsureCurrent(b *testing.B) {
	api := testenv.Docker(b)
	bin := testenv.BerthBinary(b)
	ref := testRef(b, api, "demo")
	ctx := ctxFor(b)
	if err := images.EnsureAs(ctx, api, bin, images.DemoRef, ref); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := images.EnsureAs(ctx, api, bin, images.DemoRef, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild measures a full build and load of the demo image.
func BenchmarkBuild(b *testing.B) {
	for _, cgo := range []bool{false, true} {
		b.Run("cgo="+strconv.FormatBool(cgo), func(b *testing.B) {
			api := testenv.Docker(b)
			bin := testenv.BerthBinaryCGO(b, cgo)
			ref := testRef(b, api, "demo")
			ctx := ctxFor(b)
			for b.Loop() {
				if err := images.BuildAs(ctx, api, bin, images.DemoRef, ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestRepositoryDropsTagDigestAndDockerHub(t *testing.T) {
	tests := map[string]string{
		"berth/demo":                               "berth/demo",
		"berth/demo:latest":                        "berth/demo",
		"docker.io/berth/demo:1":                   "berth/demo",
		"index.docker.io/berth/pause:latest":       "berth/pause",
		"berth/demo@sha256:0123456789abcdef":       "berth/demo",
		"localhost:5000/berth/demo:2":              "localhost:5000/berth/demo",
		"ghcr.io/owner/app:v1@sha256:0123456789ab": "ghcr.io/owner/app",
	}
	for ref, want := range tests {
		if got := images.Repository(ref); got != want {
			t.Errorf("Repository(%q) = %q, want %q", ref, got, want)
		}
	}
}

// berthVariant builds ./cmd/berth with a version of its own, a binary whose
// digest no image on the engine was built from yet, the way a new release
// of berth arrives on a machine.
func berthVariant(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	bin := filepath.Join(t.TempDir(), "berth")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=variant-"+hex.EncodeToString(b[:]), "./cmd/berth")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a berth variant: %v\n%s", err, out)
	}
	return bin
}

// removeImagesFrom removes, when the test ends, every image built from the
// binary with the given digest, tagged or not.
func removeImagesFrom(t *testing.T, api client.APIClient, digest string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		imgs, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", images.LabelBinaryDigest+"="+digest))})
		if err != nil {
			t.Errorf("clean up images: %v", err)
			return
		}
		for _, img := range imgs {
			_, err := api.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("clean up image %s: %v", img.ID, err)
			}
		}
	})
}

func TestFirstRunsOfANewBerthInManyProcessesLeaveOneImagePerRefAndNoneUntagged(t *testing.T) {
	api := testenv.Docker(t)
	bin := berthVariant(t)
	digest, err := images.BinaryDigest(bin)
	if err != nil {
		t.Fatal(err)
	}
	removeImagesFrom(t, api, digest)
	pauseRef, demoRef := testRef(t, api, "pause"), testRef(t, api, "demo")

	const processes = 30
	var wg sync.WaitGroup
	errs := make([]error, processes)
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "images", "ensure", "pause", "demo", "--as", pauseRef, "--as", demoRef)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("berth images ensure (process %d): %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	ctx := ctxFor(t)
	built, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", images.LabelBinaryDigest+"="+digest))})
	if err != nil {
		t.Fatal(err)
	}
	var tags, untagged []string
	for _, img := range built {
		tagged := false
		for _, tag := range img.RepoTags {
			if tag != "<none>:<none>" {
				tags = append(tags, tag)
				tagged = true
			}
		}
		if !tagged {
			untagged = append(untagged, img.ID)
		}
	}
	slices.Sort(tags)
	want := []string{demoRef, pauseRef}
	slices.Sort(want)
	if len(built) != len(want) || !slices.Equal(tags, want) {
		t.Errorf("%d processes ensuring %s and %s left %d images built from the binary, tagged %q; want %d, tagged %q",
			processes, pauseRef, demoRef, len(built), tags, len(want), want)
	}
	if len(untagged) > 0 {
		t.Errorf("%d untagged images built from the binary are left: %q; want none", len(untagged), untagged)
	}
	dangling, err := api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
		filters.Arg("dangling", "true"),
		filters.Arg("label", images.LabelKind),
		filters.Arg("label", images.LabelBinaryDigest+"="+digest))})
	if err != nil {
		t.Fatal(err)
	}
	if len(dangling) > 0 {
		t.Errorf("the engine lists %d dangling images of berth's built from the binary; want none", len(dangling))
	}
}

func TestARebuildKeepsTheReplacedImageWhileAnotherTagNamesIt(t *testing.T) {
	api := testenv.Docker(t)
	bin := testenv.BerthBinary(t)
	first, second := uniqueBinary(t, bin), uniqueBinary(t, bin)
	ref, usersRef := testRef(t, api, "demo"), testRef(t, api, "mine")
	ctx := ctxFor(t)

	if err := images.EnsureAs(ctx, api, first, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	old := imageOf(t, api, ref)
	if err := api.ImageTag(ctx, ref, usersRef); err != nil {
		t.Fatal(err)
	}
	if err := images.EnsureAs(ctx, api, second, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	if mine, err := api.ImageInspect(ctx, usersRef); err != nil || mine.ID != old.ID {
		t.Errorf("after the rebuild, %s (a tag of the replaced image %s) is %s, %v; want it kept", usersRef, old.ID, mine.ID, err)
	}
}

func TestBuildingTheSameBinaryAgainLoadsTheSameImage(t *testing.T) {
	api := testenv.Docker(t)
	bin := uniqueBinary(t, testenv.BerthBinary(t))
	ref := testRef(t, api, "pause")
	ctx := ctxFor(t)

	if err := images.BuildAs(ctx, api, bin, images.PauseRef, ref); err != nil {
		t.Fatal(err)
	}
	first := imageOf(t, api, ref)
	if err := images.BuildAs(ctx, api, bin, images.PauseRef, ref); err != nil {
		t.Fatal(err)
	}
	if again := imageOf(t, api, ref); again.ID != first.ID {
		t.Errorf("two builds from one binary loaded %s and %s; want one image", first.ID, again.ID)
	}
}

// A real build whose progress goes to a pipe writes nothing there.
func TestABuildIsQuietWhenPiped(t *testing.T) {
	api := testenv.Docker(t)
	bin := uniqueBinary(t, testenv.BerthBinary(t))
	ref := testRef(t, api, "demo")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := images.BuildAs(images.WithProgress(ctxFor(t), w), api, bin, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got, _ := io.ReadAll(r); len(got) != 0 {
		t.Errorf("a build piped its progress: %q", got)
	}
}
