// Package testenv gives integration tests in any package of berth what they
// share: a berth binary built from the tree, a Docker engine, berth's own
// images on it, and the removal of whatever a test created there.
//
// Tests that need Docker fail, loudly, when no engine answers: a CI without
// an engine must not pass by skipping. Set BERTH_SKIP_DOCKER=1 to skip them
// instead, on a machine known to have no engine.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/berthdev/berth/images"
)

// EnvSkipDocker, set to 1, makes tests that need a Docker engine skip.
const EnvSkipDocker = "BERTH_SKIP_DOCKER"

// buildDirPrefix names the directories binaries are built into; the process
// ID follows it so leftovers of finished processes can be told apart.
const buildDirPrefix = "berth-testenv-"

var builds = struct {
	sync.Mutex
	dir    string
	byMode map[string]buildResult
}{byMode: map[string]buildResult{}}

type buildResult struct {
	path string
	err  error
}

// BerthBinary builds ./cmd/berth once per test process, the way `go build`
// would with the environment's settings, and returns the binary's path.
func BerthBinary(t testing.TB) string {
	t.Helper()
	return berthBinary(t, "")
}

// BerthBinaryCGO is BerthBinary with cgo on or off: a berth built with cgo
// is dynamically linked, one built without is static.
func BerthBinaryCGO(t testing.TB, cgo bool) string {
	t.Helper()
	if cgo {
		return berthBinary(t, "1")
	}
	return berthBinary(t, "0")
}

func berthBinary(t testing.TB, cgoEnabled string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	r, ok := builds.byMode[cgoEnabled]
	if !ok {
		r.path, r.err = build(cgoEnabled)
		builds.byMode[cgoEnabled] = r
	}
	if r.err != nil {
		t.Fatalf("build berth: %v", r.err)
	}
	return r.path
}

// build runs go build for ./cmd/berth; callers hold builds' lock.
func build(cgoEnabled string) (string, error) {
	if builds.dir == "" {
		sweepBuildDirs()
		dir, err := os.MkdirTemp("", buildDirPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return "", err
		}
		builds.dir = dir
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	name := "berth"
	if cgoEnabled != "" {
		name += "-cgo" + cgoEnabled
	}
	out := filepath.Join(builds.dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/berth")
	cmd.Dir = root
	cmd.Env = os.Environ()
	if cgoEnabled != "" {
		cmd.Env = append(cmd.Env, "CGO_ENABLED="+cgoEnabled)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth in %s: %v\n%s", root, err, msg)
	}
	return out, nil
}

// moduleRoot is the directory of the go.mod of the module under test.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// sweepBuildDirs removes the build directories of test processes that have
// ended without Main to clean up after them.
func sweepBuildDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), buildDirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// Main runs the tests of m and removes the binaries BerthBinary built when
// they end. Call it from TestMain: `func TestMain(m *testing.M) { testenv.Main(m) }`.
// Without it the binaries are removed by the next test process that builds.
func Main(m *testing.M) {
	code := m.Run()
	builds.Lock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	builds.Unlock()
	os.Exit(code)
}

var engine = struct {
	once sync.Once
	api  client.APIClient
	err  error
}{}

// Docker returns a client of the engine the environment names, with API
// version negotiation. It fails the test when no engine answers, and skips
// it when BERTH_SKIP_DOCKER=1.
func Docker(t testing.TB) client.APIClient {
	t.Helper()
	if os.Getenv(EnvSkipDocker) == "1" {
		t.Skipf("%s=1: skipping a test that needs a Docker engine", EnvSkipDocker)
	}
	engine.once.Do(func() {
		api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			engine.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := api.Ping(ctx); err != nil {
			api.Close()
			engine.err = err
			return
		}
		api.NegotiateAPIVersion(ctx)
		engine.api = api
	})
	if engine.err != nil {
		t.Fatalf("this test needs a Docker engine and none answers (%v); start one, or set %s=1 to skip such tests", engine.err, EnvSkipDocker)
	}
	return engine.api
}

// EnsureImages makes sure berth's images exist on the engine, built from
// BerthBinary, and returns that binary's path.
func EnsureImages(t testing.TB) string {
	t.Helper()
	api := Docker(t)
	bin := BerthBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, ref := range images.Refs() {
		if err := images.Ensure(ctx, api, bin, ref); err != nil {
			t.Fatalf("ensure %s: %v", ref, err)
		}
	}
	return bin
}

// LabelKey marks what tests create on the engine; its value names the test.
const LabelKey = "dev.berth.test"

// Label returns a label ("dev.berth.test=NAME-RANDOM") unique to this test,
// and registers the removal, when the test ends, of every container,
// network and volume that carries it. Put it on whatever the test creates.
func Label(t testing.TB, api client.APIClient) (key, value string) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	value = sanitize(t.Name()) + "-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := RemoveLabelled(ctx, api, LabelKey+"="+value); err != nil {
			t.Errorf("clean up after the test: %v", err)
		}
	})
	return LabelKey, value
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, name)
}
