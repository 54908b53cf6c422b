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

func tagsOf(t *testing.T, client *ecs.Client, arn string) []string {
	t.Helper()
	out, err := client.ListTagsForResource(context.Background(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("list tags of %s: %v", arn, err)
	}
	got := []string{}
	for _, tag := range out.Tags {
		got = append(got, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	return got
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func TestTagResourceUntagResourceAndListTagsForResourceOnClustersAndTaskDefinitions(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: []types.Tag{tag("team", "blue")}})
	in := definition("web")
	in.Tags = []types.Tag{tag("team", "blue")}
	register(t, client, in)

	for _, arn := range []string{namer.Cluster("web"), namer.TaskDefinition("web", 1)} {
		t.Run(arn, func(t *testing.T) {
			if got := tagsOf(t, client, arn); !slices.Equal(got, []string{"team=blue"}) {
				t.Errorf("tags as created: %v, want team=blue", got)
			}
			_, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{tag("team", "red"), tag("env", "prod")}})
			if err != nil {
				t.Fatal(err)
			}
			if got := tagsOf(t, client, arn); !slices.Equal(got, []string{"team=red", "env=prod"}) {
				t.Errorf("after TagResource: %v, want team=red (replaced) and env=prod", got)
			}
			_, err = client.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team", "absent"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := tagsOf(t, client, arn); !slices.Equal(got, []string{"env=prod"}) {
				t.Errorf("after UntagResource: %v, want env=prod", got)
			}
		})
	}
	desc, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].Key) != "env" {
		t.Errorf("DescribeTaskDefinition's tags %+v, want env=prod", desc.Tags)
	}
}

func TestTaggingRefusesUnknownResourcesAndBadTags(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	tests := []struct {
		name, arn string
		tags      []types.Tag
		code      string
	}{
		{"a missing cluster", namer.Cluster("nope"), []types.Tag{tag("a", "b")}, api.TypeClusterNotFound},
		{"a missing task definition", namer.TaskDefinition("nope", 1), []types.Tag{tag("a", "b")}, api.TypeResourceNotFound},
		{"a task berth does not keep", namer.Task("web", "0123456789abcdef0123456789abcdef"), []types.Tag{tag("a", "b")}, api.TypeResourceNotFound},
		{"a task definition ARN without a revision", "arn:aws:ecs:us-east-1:000000000000:task-definition/web", []types.Tag{tag("a", "b")}, api.TypeInvalidParameter},
		{"something that is not an ARN", "web", []types.Tag{tag("a", "b")}, api.TypeInvalidParameter},
		{"a key in aws:", namer.Cluster("web"), []types.Tag{tag("AWS:x", "b")}, api.TypeInvalidParameter},
		{"a value of a character tags cannot hold", namer.Cluster("web"), []types.Tag{tag("a", "b*c")}, api.TypeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(tt.arn), Tags: tt.tags})
			wantAPIError(t, err, tt.code)
		})
	}
	var many []types.Tag
	for i := range 51 {
		many = append(many, tag("k"+string(rune('a'+i%26))+string(rune('a'+i/26)), "v"))
	}
	_, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(namer.Cluster("web")), Tags: many})
	wantAPIError(t, err, api.TypeInvalidParameter)
	_, err = client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(namer.Cluster("nope"))})
	wantAPIError(t, err, api.TypeClusterNotFound)
	_, err = client.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(namer.TaskDefinition("nope", 1)), TagKeys: []string{"a"}})
	wantAPIError(t, err, api.TypeResourceNotFound)
}
