package controller_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestConcurrentRegistrationsOfAFamilyEachGetARevisionOfTheirOwn(t *testing.T) {
	client := testClient(t)
	const n = 20
	revs := make([]int32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := client.RegisterTaskDefinition(context.Background(), definition("web"))
			if errs[i] = err; err == nil {
				revs[i] = out.TaskDefinition.Revision
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(revs)
	for i, rev := range revs {
		if rev != int32(i+1) {
			t.Fatalf("revisions %v, want 1 to %d, each once", revs, n)
		}
	}
}

func TestConcurrentCreationsOfAClusterMakeOneCluster(t *testing.T) {
	client := testClient(t)
	const n = 20
	created := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("web")})
			if errs[i] = err; err == nil {
				created[i] = aws.ToString(out.Cluster.ClusterArn)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if created[i] != namer.Cluster("web") {
			t.Errorf("call %d created %s", i, created[i])
		}
	}
	list, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil || !slices.Equal(list.ClusterArns, []string{namer.Cluster("web")}) {
		t.Errorf("clusters %v, %v; want web once", list, err)
	}
}
