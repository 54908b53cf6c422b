package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

func TestNamerMakesECSARNs(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	cases := []struct{ got, want string }{
		{namer.Cluster("default"), "arn:aws:ecs:us-east-1:123456789012:cluster/default"},
		{namer.TaskDefinition("web", 3), "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"},
		{namer.Task("default", id), "arn:aws:ecs:us-east-1:123456789012:task/default/" + id},
		{namer.ContainerInstance("prod", id), "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/" + id},
		{api.Namer{Partition: "aws-cn", Region: "cn-north-1", AccountID: "1"}.Cluster("a"), "arn:aws-cn:ecs:cn-north-1:1:cluster/a"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if id := api.NewID(); len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("NewID() = %q, want 32 hex digits", id)
	}
}

func TestClusterNameTakesANameOrAnARN(t *testing.T) {
	cases := []struct {
		name, ref, want string
		wantErr         bool
	}{
		{"an empty reference is the default cluster", "", "default", false},
		{"a name is itself", "prod-1_a", "prod-1_a", false},
		{"an ARN gives its name", "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "prod", false},
		{"a name of 255 characters is fine", strings.Repeat("a", 255), strings.Repeat("a", 255), false},
		{"a name of 256 characters is refused", strings.Repeat("a", 256), "", true},
		{"a name with a slash is refused", "a/b", "", true},
		{"a name with a space is refused", "a b", "", true},
		{"another service's ARN is refused", "arn:aws:ec2:us-east-1:1:cluster/prod", "", true},
		{"a task ARN is refused", "arn:aws:ecs:us-east-1:1:task/prod/0123456789abcdef0123456789abcdef", "", true},
		{"a cut ARN is refused", "arn:aws:ecs:us-east-1", "", true},
		{"an ARN with an empty name is refused", "arn:aws:ecs:us-east-1:1:cluster/", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := api.ClusterName(c.ref)
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("ClusterName(%q) = %q, %v", c.ref, got, err)
			}
			if err != nil && !errors.Is(err, &api.Error{Type: api.TypeInvalidParameter}) {
				t.Errorf("error %v is not an InvalidParameterException", err)
			}
		})
	}
}

func TestTaskDefinitionRefTakesAFamilyARevisionOrAnARN(t *testing.T) {
	cases := []struct {
		name, ref, family string
		revision          int
		wantErr           bool
	}{
		{"a family is its latest revision", "web", "web", 0, false},
		{"family:revision names the revision", "web:12", "web", 12, false},
		{"an ARN names its revision", "arn:aws:ecs:us-east-1:1:task-definition/web:3", "web", 3, false},
		{"an ARN without a revision is refused", "arn:aws:ecs:us-east-1:1:task-definition/web", "", 0, true},
		{"revision 0 is refused", "web:0", "", 0, true},
		{"a negative revision is refused", "web:-1", "", 0, true},
		{"a signed revision is refused", "web:+1", "", 0, true},
		{"a word as revision is refused", "web:latest", "", 0, true},
		{"a huge revision is refused", "web:99999999999999999999", "", 0, true},
		{"an empty family is refused", ":3", "", 0, true},
		{"an empty reference is refused", "", "", 0, true},
		{"a family with a dot is refused", "web.app", "", 0, true},
		{"a cluster ARN is refused", "arn:aws:ecs:us-east-1:1:cluster/web", "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			family, rev, err := api.TaskDefinitionRef(c.ref)
			if (err != nil) != c.wantErr || family != c.family || rev != c.revision {
				t.Fatalf("TaskDefinitionRef(%q) = %q, %d, %v", c.ref, family, rev, err)
			}
		})
	}
}

func TestTaskAndInstanceRefsTakeAnIDOrAnARN(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name, ref, cluster, id string
		wantErr                bool
	}{
		{"an ID names no cluster", id, "", id, false},
		{"an ARN names its cluster", "arn:aws:ecs:us-east-1:1:task/prod/" + id, "prod", id, false},
		{"the older ARN names no cluster", "arn:aws:ecs:us-east-1:1:task/" + id, "", id, false},
		{"an ID of 31 digits is refused", id[1:], "", "", true},
		{"an ID in capitals is refused", strings.ToUpper(id), "", "", true},
		{"an ID with a non-hex letter is refused", "g" + id[1:], "", "", true},
		{"an ARN with a bad cluster is refused", "arn:aws:ecs:us-east-1:1:task/a b/" + id, "", "", true},
		{"an ARN with an extra part is refused", "arn:aws:ecs:us-east-1:1:task/prod/" + id + "/x", "", "", true},
		{"a container instance ARN is refused", "arn:aws:ecs:us-east-1:1:container-instance/prod/" + id, "", "", true},
		{"an empty reference is refused", "", "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cluster, gotID, err := api.TaskRef(c.ref)
			if (err != nil) != c.wantErr || cluster != c.cluster || gotID != c.id {
				t.Fatalf("TaskRef(%q) = %q, %q, %v", c.ref, cluster, gotID, err)
			}
		})
	}
	cluster, gotID, err := api.ContainerInstanceRef("arn:aws:ecs:us-east-1:1:container-instance/prod/" + id)
	if err != nil || cluster != "prod" || gotID != id {
		t.Errorf("ContainerInstanceRef = %q, %q, %v", cluster, gotID, err)
	}
	if _, _, err := api.ContainerInstanceRef("arn:aws:ecs:us-east-1:1:task/prod/" + id); err == nil || !strings.Contains(err.Error(), "containerInstance") {
		t.Errorf("a task ARN as container instance: %v", err)
	}
}

func TestParseARNSplitsEveryPart(t *testing.T) {
	a, err := api.ParseARN("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3")
	if err != nil || a.Partition != "aws" || a.Service != "ecs" || a.Region != "us-east-1" || a.AccountID != "123456789012" || a.Resource != "task-definition/web:3" {
		t.Fatalf("got %+v, %v", a, err)
	}
	if a.String() != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3" {
		t.Errorf("String() = %s", a)
	}
	for _, bad := range []string{"", "arn", "arn:aws:ecs", "nra:aws:ecs:r:a:cluster/x", "arn::ecs:r:a:cluster/x", "arn:aws:ecs:r:a:"} {
		if _, err := api.ParseARN(bad); err == nil {
			t.Errorf("ParseARN(%q) succeeded", bad)
		}
	}
}
