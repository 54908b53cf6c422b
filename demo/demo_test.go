package demo

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// run runs the demo program with args and returns its exit code and output.
func run(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestModes(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	os.WriteFile(existing, []byte("hello volume\n"), 0o644)
	okServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(okServer.Close)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"exit exits with its code", []string{"exit", "3"}, 3, "exiting with code 3", ""},
		{"exit 0 exits 0", []string{"exit", "0", "--after", "1ms"}, 0, "exiting with code 0", ""},
		{"exit rejects a code above 255", []string{"exit", "256"}, ExitUsage, "", "from 0 to 255"},
		{"exit needs a code", []string{"exit"}, ExitUsage, "", "usage: berth demo exit CODE"},
		{"sleep sleeps for seconds", []string{"sleep", "0.001"}, 0, "slept 1ms", ""},
		{"sleep takes a Go duration", []string{"sleep", "2ms"}, 0, "slept 2ms", ""},
		{"sleep rejects a negative duration", []string{"sleep", "--", "-1"}, ExitUsage, "", "must be between 0"},
		{"sleep rejects an unknown flag", []string{"sleep", "1", "--forever"}, ExitUsage, "", "flag provided but not defined"},
		{"read prints the file", []string{"read", existing}, 0, "hello volume", ""},
		{"read of an absent file fails", []string{"read", filepath.Join(dir, "absent"), "--wait", "0.01"}, ExitFailed, "waiting up to 10ms", "does not exist"},
		{"write creates the file and its directory", []string{"write", filepath.Join(dir, "sub", "note"), "hello", "there"}, 0, "wrote 12 bytes", ""},
		{"write needs text", []string{"write", filepath.Join(dir, "x")}, ExitUsage, "", "want PATH and TEXT"},
		{"probe of a 2xx URL succeeds", []string{"probe", okServer.URL + "/health"}, 0, "200 OK", ""},
		{"probe of a 404 fails", []string{"probe", okServer.URL + "/nothing"}, ExitFailed, "404 Not Found", ""},
		{"probe of a closed port fails", []string{"probe", "http://127.0.0.1:1/health"}, ExitFailed, "connection refused", ""},
		{"mem allocates in steps", []string{"mem", "3m", "--step", "1m"}, 0, "allocated 3 MiB of 3 MiB", ""},
		{"mem rejects a bad size", []string{"mem", "lots"}, ExitUsage, "", `size "lots"`},
		{"mem rejects a zero step", []string{"mem", "1m", "--step", "0"}, ExitUsage, "", "more than 0"},
		{"cpu burns for the seconds asked", []string{"cpu", "--seconds", "0.01", "--workers", "2"}, 0, "on 2 workers", ""},
		{"cpu rejects zero workers", []string{"cpu", "--workers", "0"}, ExitUsage, "", "at least 1"},
		{"echo prints its arguments", []string{"echo", "a", "b"}, 0, "a b", ""},
		{"an unknown mode is a usage error", []string{"dance"}, ExitUsage, "", `unknown mode "dance"`},
		{"help lists the modes", []string{"help"}, 0, "probe URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(context.Background(), tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("berth demo %q = %d\nstdout:\n%s\nstderr:\n%s\nwant %d, stdout containing %q, stderr containing %q",
					tt.args, code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestWriteThenReadRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared", "msg")
	if code, _, errOut := run(context.Background(), "write", path, "from", "one", "container"); code != 0 {
		t.Fatalf("write = %d: %s", code, errOut)
	}
	code, out, _ := run(context.Background(), "read", path)
	if code != 0 || !strings.HasSuffix(out, "\nfrom one container\n") {
		t.Errorf("read = %d, %q; want the text written", code, out)
	}
}

func TestReadWaitsForTheFileToAppear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late")
	done := make(chan struct{})
	var code int
	var out string
	go func() {
		code, out, _ = run(context.Background(), "read", path, "--wait", "1m")
		close(done)
	}()
	if err := writeFileAtomic(path, []byte("arrived\n")); err != nil {
		t.Fatal(err)
	}
	<-done
	if code != 0 || !strings.Contains(out, "arrived") {
		t.Errorf("read = %d, %q; want the file once it appeared", code, out)
	}
}

func TestModesStopWithExitZeroWhenTheContextEnds(t *testing.T) {
	tests := [][]string{
		{"sleep", "infinity"},
		{"sleep", "1h", "--ignore-sigterm"},
		{"exit", "7", "--after", "1h"},
		{"cpu", "--workers", "1"},
		{"mem", "1m", "--hold"},
		{"read", "/nonexistent/file", "--wait", "1h"},
		{"serve", "--port", "0"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(10 * time.Millisecond)
				cancel()
			}()
			if code, out, errOut := run(ctx, args...); code != 0 {
				t.Errorf("stopped with %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
		})
	}
}

func TestParseArgsTakesFlagsAnywhere(t *testing.T) {
	tests := []struct {
		args       []string
		wantPos    []string
		wantIgnore bool
	}{
		{[]string{"30", "--ignore-sigterm"}, []string{"30"}, true},
		{[]string{"--ignore-sigterm", "30"}, []string{"30"}, true},
		{[]string{"30"}, []string{"30"}, false},
		{[]string{"--", "--ignore-sigterm"}, []string{"--ignore-sigterm"}, false},
		{[]string{"a", "--", "b", "--ignore-sigterm"}, []string{"a", "b", "--ignore-sigterm"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			ignore := fs.Bool("ignore-sigterm", false, "")
			pos, err := parseArgs(fs, tt.args)
			if err != nil || !slices.Equal(pos, tt.wantPos) || *ignore != tt.wantIgnore {
				t.Errorf("parseArgs(%q) = %q, %v, ignore %t; want %q, ignore %t", tt.args, pos, err, *ignore, tt.wantPos, tt.wantIgnore)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30", 30 * time.Second, false},
		{"0.5", 500 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"0", 0, false},
		{"-1s", 0, true},
		{"soon", 0, true},
		{"1e300", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("parseDuration(%q) = %s, %v; want %s, error %t", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
