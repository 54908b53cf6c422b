package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

// awsCLI runs the aws CLI against srv with dummy credentials and no
// configuration of the machine's user.
func awsCLI(t *testing.T, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, lookErr := exec.LookPath("aws")
	if lookErr != nil {
		t.Skip("the aws CLI is not installed; install it (pip install awscli) to run this test")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(context.Background(), bin, append(args, "--endpoint-url", url, "--region", "us-east-1", "--output", "json")...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") { // the user's profile, keys, region
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

func TestAWSCLIListsClustersAndShowsErrors(t *testing.T) {
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "ListClusters", func(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
		return &api.ListClustersOutput{ClusterArns: []string{namer.Cluster("default"), namer.Cluster("web")}}, nil
	})
	api.Handle(mux, "DescribeClusters", func(ctx context.Context, in *api.DescribeClustersInput) (*api.DescribeClustersOutput, error) {
		return nil, api.ClusterNotFoundException("")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	stdout, stderr, err := awsCLI(t, srv.URL, "ecs", "list-clusters")
	if err != nil {
		t.Fatalf("aws ecs list-clusters: %v\n%s", err, stderr)
	}
	var out struct{ ClusterArns []string }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("aws ecs list-clusters printed %q: %v", stdout, err)
	}
	if len(out.ClusterArns) != 2 || out.ClusterArns[1] != "arn:aws:ecs:us-east-1:123456789012:cluster/web" {
		t.Errorf("aws ecs list-clusters printed %s", stdout)
	}

	_, stderr, err = awsCLI(t, srv.URL, "ecs", "describe-clusters", "--clusters", "nope")
	if err == nil || !strings.Contains(stderr, "(ClusterNotFoundException)") || !strings.Contains(stderr, "Cluster not found.") {
		t.Errorf("aws ecs describe-clusters of a missing cluster: err %v, stderr %q; want the CLI to name ClusterNotFoundException", err, stderr)
	}
}
