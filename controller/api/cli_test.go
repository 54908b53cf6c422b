package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

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

	stdout, stderr, err := testenv.AWSCLI(t, srv.URL, "ecs", "list-clusters")
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

	_, stderr, err = testenv.AWSCLI(t, srv.URL, "ecs", "describe-clusters", "--clusters", "nope")
	if err == nil || !strings.Contains(stderr, "(ClusterNotFoundException)") || !strings.Contains(stderr, "Cluster not found.") {
		t.Errorf("aws ecs describe-clusters of a missing cluster: err %v, stderr %q; want the CLI to name ClusterNotFoundException", err, stderr)
	}
}
