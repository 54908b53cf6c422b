package controller_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
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
