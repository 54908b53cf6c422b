package controller_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller/api"
)

func createCluster(t *testing.T, client *ecs.Client, in *ecs.CreateClusterInput) *types.Cluster {
	t.Helper()
	out, err := client.CreateCluster(context.Background(), in)
	if err != nil {
		t.Fatalf("create cluster %s: %v", aws.ToString(in.ClusterName), err)
	}
	return out.Cluster
}

func TestCreateClusterMakesAnActiveClusterAndIsIdempotentOnTheName(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	first := createCluster(t, client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}},
	})
	if aws.ToString(first.ClusterArn) != namer.Cluster("web") || aws.ToString(first.Status) != "ACTIVE" {
		t.Errorf("created %s, %s; want %s ACTIVE", aws.ToString(first.ClusterArn), aws.ToString(first.Status), namer.Cluster("web"))
	}
	if len(first.Settings) != 1 || first.Settings[0].Name != types.ClusterSettingNameContainerInsights || aws.ToString(first.Settings[0].Value) != "disabled" {
		t.Errorf("settings %+v, want containerInsights disabled, as ECS shows them", first.Settings)
	}
	again := createCluster(t, client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("red")}},
	})
	if len(again.Tags) != 1 || aws.ToString(again.Tags[0].Value) != "blue" {
		t.Errorf("creating web again gave tags %+v; want the existing cluster's (team=blue)", again.Tags)
	}
	list, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list.ClusterArns, []string{namer.Cluster("web")}) {
		t.Errorf("clusters %v, want web once", list.ClusterArns)
	}
}

func TestCreateClusterWithoutANameCreatesTheDefaultCluster(t *testing.T) {
	client := testClient(t)
	c := createCluster(t, client, &ecs.CreateClusterInput{})
	if aws.ToString(c.ClusterName) != api.DefaultCluster {
		t.Errorf("created %s, want default", aws.ToString(c.ClusterName))
	}
}

func TestCreateClusterRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   *ecs.CreateClusterInput
	}{
		{"a name with a dot", &ecs.CreateClusterInput{ClusterName: aws.String("web.prod")}},
		{"a setting ECS does not have", &ecs.CreateClusterInput{ClusterName: aws.String("web"), Settings: []types.ClusterSetting{{Name: "fastMode", Value: aws.String("on")}}}},
		{"containerInsights of a value ECS does not take", &ecs.CreateClusterInput{ClusterName: aws.String("web"), Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("maybe")}}}},
		{"a tag key in aws:", &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}}},
		{"an empty tag key", &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: []types.Tag{{Key: aws.String(""), Value: aws.String("x")}}}},
	}
	client := testClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.CreateCluster(context.Background(), tt.in)
			wantAPIError(t, err, api.TypeInvalidParameter)
		})
	}
}

func TestCreateClusterKeepsSettingsGiven(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{
		ClusterName: aws.String("insights"),
		Settings:    []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
	})
	out, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{
		Clusters: []string{"insights"},
		Include:  []types.ClusterField{types.ClusterFieldSettings},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Clusters[0].Settings; len(s) != 1 || aws.ToString(s[0].Value) != "enabled" {
		t.Errorf("settings %+v, want containerInsights enabled", s)
	}
}

func TestDescribeClustersOfTheDefaultClusterBeforeItIsCreatedAnswersMissing(t *testing.T) {
	client := testClient(t)
	for _, in := range []*ecs.DescribeClustersInput{{}, {Clusters: []string{"default"}}} {
		out, err := client.DescribeClusters(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Clusters) != 0 || len(out.Failures) != 1 ||
			aws.ToString(out.Failures[0].Arn) != namer.Cluster("default") || aws.ToString(out.Failures[0].Reason) != "MISSING" {
			t.Errorf("describe %v: clusters %+v, failures %+v; want default MISSING", in.Clusters, out.Clusters, out.Failures)
		}
	}
}

func TestDescribeClustersShowsStatisticsAndTagsOnlyWhenIncluded(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}})

	bare, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web", namer.Cluster("nope")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bare.Clusters) != 1 || bare.Clusters[0].Tags != nil || bare.Clusters[0].Statistics != nil {
		t.Errorf("without include: %+v; want web without tags or statistics", bare.Clusters)
	}
	if len(bare.Failures) != 1 || aws.ToString(bare.Failures[0].Arn) != namer.Cluster("nope") || aws.ToString(bare.Failures[0].Reason) != "MISSING" {
		t.Errorf("failures %+v, want nope MISSING", bare.Failures)
	}

	full, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{namer.Cluster("web")},
		Include:  []types.ClusterField{types.ClusterFieldStatistics, types.ClusterFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := full.Clusters[0]
	if len(c.Tags) != 1 || aws.ToString(c.Tags[0].Key) != "team" {
		t.Errorf("tags %+v, want team=blue", c.Tags)
	}
	stats := map[string]string{}
	for _, kv := range c.Statistics {
		stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if stats["runningEC2TasksCount"] != "0" || stats["pendingFargateTasksCount"] != "0" {
		t.Errorf("statistics %v, want the task counts at 0", stats)
	}
	if c.RunningTasksCount != 0 || c.PendingTasksCount != 0 || c.RegisteredContainerInstancesCount != 0 || c.ActiveServicesCount != 0 {
		t.Errorf("counts %+v, want 0", c)
	}
}

func TestDescribeClustersRefusesAnIncludeECSDoesNotHave(t *testing.T) {
	client := testClient(t)
	_, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Include: []types.ClusterField{"EVERYTHING"}})
	wantAPIError(t, err, api.TypeInvalidParameter)
}

func TestDeleteClusterMakesItInactiveAndCreateMakesItActiveAgain(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("api")})

	out, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(namer.Cluster("web"))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Cluster.Status) != "INACTIVE" {
		t.Errorf("deleted cluster is %s, want INACTIVE", aws.ToString(out.Cluster.Status))
	}
	desc, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("describe after delete: %+v, failures %+v; want web INACTIVE, as ECS shows it", desc.Clusters, desc.Failures)
	}
	list, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list.ClusterArns, []string{namer.Cluster("api")}) {
		t.Errorf("clusters after delete %v, want api alone", list.ClusterArns)
	}
	twice, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")})
	if err != nil || aws.ToString(twice.Cluster.Status) != "INACTIVE" {
		t.Errorf("delete twice: %+v, %v; want the INACTIVE cluster, as ECS answers", twice, err)
	}
	_, err = client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(namer.Cluster("web")), Tags: []types.Tag{tag("a", "b")}})
	if msg := wantAPIError(t, err, api.TypeInvalidParameter); msg != "The specified cluster is inactive. Specify an active cluster and try again." {
		t.Errorf("tagging an inactive cluster: %q, want ECS's message", msg)
	}

	again := createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	if aws.ToString(again.Status) != "ACTIVE" {
		t.Errorf("created again: %s, want ACTIVE", aws.ToString(again.Status))
	}
}

func TestDeleteClusterOfAMissingClusterIsClusterNotFound(t *testing.T) {
	client := testClient(t)
	_, err := client.DeleteCluster(context.Background(), &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
	if msg := wantAPIError(t, err, api.TypeClusterNotFound); msg != "Cluster not found." {
		t.Errorf("message %q, want ECS's", msg)
	}
}

func TestListClustersPagesInNameOrder(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	names := []string{"echo", "alpha", "delta", "charlie", "bravo"}
	for _, n := range names {
		createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String(n)})
	}
	var got []string
	pages := 0
	p := ecs.NewListClustersPaginator(client, &ecs.ListClustersInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.ClusterArns...)
	}
	slices.Sort(names)
	var want []string
	for _, n := range names {
		want = append(want, namer.Cluster(n))
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("got %v in %d pages, want %v in 3", got, pages, want)
	}
}

func TestListClustersRefusesBadPaging(t *testing.T) {
	tests := []struct {
		name string
		in   *ecs.ListClustersInput
	}{
		{"a token berth never gave", &ecs.ListClustersInput{NextToken: aws.String("forged")}},
		{"maxResults of 0", &ecs.ListClustersInput{MaxResults: aws.Int32(0)}},
		{"maxResults over 100", &ecs.ListClustersInput{MaxResults: aws.Int32(101)}},
	}
	client := testClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListClusters(context.Background(), tt.in)
			wantAPIError(t, err, api.TypeInvalidParameter)
		})
	}
}
