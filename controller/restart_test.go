package controller_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller/store"
)

func TestClustersAndTaskDefinitionsSurviveARestartOfTheServer(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first := startServer(t, dir)
	client := newClient(t, first)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: []types.Tag{tag("team", "blue")}})
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("gone")})
	if _, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	register(t, client, definition("web"))
	register(t, client, definition("web"))
	if _, err := client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	stopServer(t, first)

	client = newClient(t, startServer(t, dir))
	desc, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web", "gone"}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 2 || aws.ToString(desc.Clusters[0].Status) != "ACTIVE" || len(desc.Clusters[0].Tags) != 1 || aws.ToString(desc.Clusters[1].Status) != "INACTIVE" {
		t.Errorf("after restart: clusters %+v, failures %+v; want web ACTIVE with its tag and gone INACTIVE", desc.Clusters, desc.Failures)
	}
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil || td.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("after restart: web:2 %v, %v; want INACTIVE", td, err)
	}
	if rev := register(t, client, definition("web")).TaskDefinition.Revision; rev != 3 {
		t.Errorf("after restart: registered revision %d, want 3", rev)
	}
}

// hostAddresses reads the host address of every instance of cluster from
// the store of a stopped server's state directory.
func hostAddresses(t *testing.T, dir, cluster string) map[string]string {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.ContainerInstances(cluster)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[namer.ContainerInstance(cluster, r.ID)] = r.HostAddress
	}
	return out
}

func TestContainerInstancesSurviveARestartOfTheServerAndNewOnesGetAddressesOfTheirOwn(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first := startServer(t, dir)
	client := newClient(t, first)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	kept := registerInstance(t, client, sized("web", attr("stack", "prod")))
	drained := registerInstance(t, client, sized("web"))
	if _, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(drained.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	stopServer(t, first)
	before := hostAddresses(t, dir, "web")

	second := startServer(t, dir)
	client = newClient(t, second)
	desc, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(kept.ContainerInstanceArn), aws.ToString(drained.ContainerInstanceArn)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ContainerInstances) != 2 || attributeMap(desc.ContainerInstances[0].Attributes)["stack"] != "prod" || aws.ToString(desc.ContainerInstances[1].Status) != "DRAINING" ||
		aws.ToString(desc.ContainerInstances[0].Ec2InstanceId) != aws.ToString(kept.Ec2InstanceId) {
		t.Errorf("after restart: %+v, failures %+v; want both as they were", desc.ContainerInstances, desc.Failures)
	}
	added := registerInstance(t, client, sized("web"))
	stopServer(t, second)

	after := hostAddresses(t, dir, "web")
	for arn, addr := range before {
		if after[arn] != addr {
			t.Errorf("%s had host address %s before the restart and %s after", arn, addr, after[arn])
		}
	}
	for arn, addr := range before {
		if after[aws.ToString(added.ContainerInstanceArn)] == addr {
			t.Errorf("the instance registered after the restart has %s, the address of %s", addr, arn)
		}
	}
	if len(after) != 3 {
		t.Errorf("instances after restart: %v, want three", after)
	}
}
