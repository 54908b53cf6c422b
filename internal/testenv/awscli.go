package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// AWSCLI runs the aws CLI as a person would against a berth server at url,
// with dummy credentials and none of the machine user's configuration
// (profile, keys, region), and returns what it printed. The test skips,
// saying how to install it, where the aws CLI is absent.
func AWSCLI(t testing.TB, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, lookErr := exec.LookPath("aws")
	if lookErr != nil {
		t.Skip("the aws CLI is not installed; install it (pip install awscli, or Debian's awscli) to run this test")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(context.Background(), bin, append(args, "--endpoint-url", url, "--region", "us-east-1", "--output", "json")...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"AWS_ACCESS_KEY_ID=AKIDBERTH",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
