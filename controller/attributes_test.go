package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller/api"
)

func targeted(name, value, target string) types.Attribute {
	a := attr(name, value)
	a.TargetId = aws.String(target)
	return a
}

// listAttributes lists, page by page, the attributes of web's instances
// that in selects, as NAME=VALUE@TARGET.
func listAttributes(t *testing.T, client *ecs.Client, in *ecs.ListAttributesInput) []string {
	t.Helper()
	in.Cluster, in.TargetType = aws.String("web"), types.TargetTypeContainerInstance
	var got []string
	for {
		out, err := client.ListAttributes(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Attributes {
			got = append(got, fmt.Sprintf("%s=%s@%s", aws.ToString(a.Name), aws.ToString(a.Value), aws.ToString(a.TargetId)))
		}
		if in.NextToken = out.NextToken; in.NextToken == nil {
			return got
		}
	}
}

func TestPutAttributesDeleteAttributesAndListAttributesOnContainerInstances(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	arn := aws.ToString(registerInstance(t, client, sized("web")).ContainerInstanceArn)
	id := arn[strings.LastIndex(arn, "/")+1:]

	byID := targeted("stack", "prod", id)
	byID.TargetType = types.TargetTypeContainerInstance
	_, err := client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		byID, targeted("canary", "", arn),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAttributes(t, client, &ecs.ListAttributesInput{AttributeName: aws.String("stack")}); !slices.Equal(got, []string{"stack=prod@" + arn}) {
		t.Errorf("attributes named stack: %v, want stack=prod on the instance", got)
	}
	if got := listAttributes(t, client, &ecs.ListAttributesInput{AttributeName: aws.String("stack"), AttributeValue: aws.String("test")}); len(got) != 0 {
		t.Errorf("stack=test: %v, want none", got)
	}
	all := listAttributes(t, client, &ecs.ListAttributesInput{MaxResults: aws.Int32(3)})
	for _, want := range []string{"canary=@" + arn, "stack=prod@" + arn, "ecs.os-type=linux@" + arn} {
		if !slices.Contains(all, want) {
			t.Errorf("every attribute, in pages of 3: %v lacks %s", all, want)
		}
	}
	if !slices.IsSorted(all) {
		t.Errorf("every attribute: %v, want them in name order", all)
	}
	desc, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: []string{arn}})
	if err != nil || desc.ContainerInstances[0].Version != 2 || attributeMap(desc.ContainerInstances[0].Attributes)["stack"] != "prod" {
		t.Errorf("described after PutAttributes: %+v, %v; want stack=prod at version 2", desc, err)
	}

	_, err = client.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		targeted("stack", "", arn), targeted("absent", "", arn),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAttributes(t, client, &ecs.ListAttributesInput{AttributeName: aws.String("stack")}); len(got) != 0 {
		t.Errorf("attributes named stack after DeleteAttributes: %v, want none", got)
	}
}

func TestPutAttributesAndDeleteAttributesRefuseBadAttributesAndUnknownTargets(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	arn := aws.ToString(registerInstance(t, client, sized("web")).ContainerInstanceArn)
	var eleven, limit []types.Attribute
	for i := range 11 {
		eleven = append(eleven, targeted(fmt.Sprintf("a%d", i), "x", arn))
	}
	for i := range 10 {
		limit = append(limit, targeted(fmt.Sprintf("a%d", i), "x", arn))
	}
	if _, err := client.PutAttributes(context.Background(), &ecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: limit}); err != nil {
		t.Fatal(err)
	}
	missing := namer.ContainerInstance("web", "0123456789abcdef0123456789abcdef")
	tests := []struct {
		name    string
		cluster string
		attrs   []types.Attribute
		code    string
		says    string
	}{
		{"a name with a space", "web", []types.Attribute{targeted("my stack", "x", arn)}, api.TypeInvalidParameter, "attributes[0]"},
		{"a value with a comma", "web", []types.Attribute{targeted("stack", "a,b", arn)}, api.TypeInvalidParameter, "attributes[0]"},
		{"an attribute the agent sets", "web", []types.Attribute{targeted("ecs.instance-type", "t3.large", arn)}, api.TypeInvalidParameter, "set by the container agent"},
		{"an unknown instance", "web", []types.Attribute{targeted("stack", "x", missing)}, api.TypeTargetNotFound, ""},
		{"a short target ID without its type", "web", []types.Attribute{targeted("stack", "x", "0123456789abcdef0123456789abcdef")}, api.TypeInvalidParameter, "targetType"},
		{"no target", "web", []types.Attribute{attr("stack", "x")}, api.TypeInvalidParameter, "targetId"},
		{"eleven in one call", "web", eleven, api.TypeInvalidParameter, "1 to 10"},
		{"an eleventh custom attribute", "web", []types.Attribute{targeted("stack", "x", arn)}, api.TypeAttributeLimitExceeded, ""},
		{"an unknown cluster", "nope", []types.Attribute{targeted("stack", "x", arn)}, api.TypeClusterNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PutAttributes(context.Background(), &ecs.PutAttributesInput{Cluster: aws.String(tt.cluster), Attributes: tt.attrs})
			if msg := wantAPIError(t, err, tt.code); !strings.Contains(msg, tt.says) {
				t.Errorf("message %q, want it to say %q", msg, tt.says)
			}
		})
	}
	_, err := client.DeleteAttributes(context.Background(), &ecs.DeleteAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{targeted("ecs.os-type", "", arn)}})
	wantAPIError(t, err, api.TypeInvalidParameter)
	_, err = client.DeleteAttributes(context.Background(), &ecs.DeleteAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{targeted("a1", "", missing)}})
	wantAPIError(t, err, api.TypeTargetNotFound)
}

func TestListAttributesRefusesBadInput(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	tests := []struct {
		name string
		in   *ecs.ListAttributesInput
		code string
	}{
		{"a value without a name", &ecs.ListAttributesInput{Cluster: aws.String("web"), TargetType: types.TargetTypeContainerInstance, AttributeValue: aws.String("x")}, api.TypeInvalidParameter},
		{"a target type ECS does not have", &ecs.ListAttributesInput{Cluster: aws.String("web"), TargetType: "task"}, api.TypeInvalidParameter},
		{"an unknown cluster", &ecs.ListAttributesInput{Cluster: aws.String("nope"), TargetType: types.TargetTypeContainerInstance}, api.TypeClusterNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListAttributes(context.Background(), tt.in)
			wantAPIError(t, err, tt.code)
		})
	}
}
