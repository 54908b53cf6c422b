package controller_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
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

func TestConcurrentRegistrationsOfContainerInstancesGetIdentitiesAndAddressesOfTheirOwn(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	client := newClient(t, srv)
	const n = 20
	instances := make([]*types.ContainerInstance, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := client.RegisterContainerInstance(context.Background(), sized(""))
			if errs[i] = err; err == nil {
				instances[i] = out.ContainerInstance
			}
		})
	}
	wg.Wait()
	arns, ec2IDs := map[string]bool{}, map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		arns[aws.ToString(instances[i].ContainerInstanceArn)] = true
		ec2IDs[aws.ToString(instances[i].Ec2InstanceId)] = true
	}
	if len(arns) != n || len(ec2IDs) != n {
		t.Errorf("%d ARNs and %d EC2 instance IDs among %d registrations, want each its own", len(arns), len(ec2IDs), n)
	}
	stopServer(t, srv)
	addrs := map[string]bool{}
	for _, addr := range hostAddresses(t, dir, "default") {
		addrs[addr] = true
	}
	if len(addrs) != n {
		t.Errorf("%d host addresses among %d instances, want each its own: %v", len(addrs), n, addrs)
	}
}
