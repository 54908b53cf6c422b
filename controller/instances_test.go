package controller_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller/api"
)

func intResource(name string, v int32) types.Resource {
	return types.Resource{Name: aws.String(name), Type: aws.String("INTEGER"), IntegerValue: v}
}

func portsResource(name string, ports ...string) types.Resource {
	return types.Resource{Name: aws.String(name), Type: aws.String("STRINGSET"), StringSetValue: ports}
}

func attr(name, value string) types.Attribute {
	a := types.Attribute{Name: aws.String(name)}
	if value != "" {
		a.Value = aws.String(value)
	}
	return a
}

// sized is a registration of 2 CPUs and 4 GiB in cluster.
func sized(cluster string, attrs ...types.Attribute) *ecs.RegisterContainerInstanceInput {
	return &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 2048), intResource("MEMORY", 4096)},
		Attributes:     attrs,
	}
}

func registerInstance(t *testing.T, client *ecs.Client, in *ecs.RegisterContainerInstanceInput) *types.ContainerInstance {
	t.Helper()
	out, err := client.RegisterContainerInstance(context.Background(), in)
	if err != nil {
		t.Fatalf("register container instance: %v", err)
	}
	return out.ContainerInstance
}

func attributeMap(attrs []types.Attribute) map[string]string {
	m := map[string]string{}
	for _, a := range attrs {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func resourceOf(rs []types.Resource, name string) types.Resource {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

var (
	instanceARN   = regexp.MustCompile(`^arn:aws:ecs:us-east-1:000000000000:container-instance/web/[0-9a-f]{32}$`)
	ec2InstanceID = regexp.MustCompile(`^i-[0-9a-f]{17}$`)
)

func TestRegisterContainerInstanceGivesTheInstanceWhatTheECSAgentSets(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	in := sized("web", attr("stack", "prod"))
	in.TotalResources = append(in.TotalResources, portsResource("PORTS", "8080", "22"), portsResource("PORTS_UDP", "53"))
	in.VersionInfo = &types.VersionInfo{AgentVersion: aws.String("1.80.0"), DockerVersion: aws.String("24.0.7")}
	ci := registerInstance(t, client, in)

	if !instanceARN.MatchString(aws.ToString(ci.ContainerInstanceArn)) || !ec2InstanceID.MatchString(aws.ToString(ci.Ec2InstanceId)) {
		t.Errorf("ARN %s and EC2 instance ID %s, want container-instance/web/32 hex and i- 17 hex", aws.ToString(ci.ContainerInstanceArn), aws.ToString(ci.Ec2InstanceId))
	}
	if aws.ToString(ci.Status) != "ACTIVE" || !ci.AgentConnected || ci.Version != 1 || ci.RegisteredAt == nil || ci.RunningTasksCount != 0 || ci.PendingTasksCount != 0 {
		t.Errorf("status %s, agentConnected %v, version %d, registeredAt %v, tasks %d/%d; want ACTIVE, true, 1, set, 0/0",
			aws.ToString(ci.Status), ci.AgentConnected, ci.Version, ci.RegisteredAt, ci.RunningTasksCount, ci.PendingTasksCount)
	}
	attrs := attributeMap(ci.Attributes)
	for name, want := range map[string]string{
		"stack": "prod", "ecs.availability-zone": "us-east-1a", "ecs.instance-type": "local",
		"ecs.os-type": "linux", "ecs.os-family": "LINUX",
		"com.amazonaws.ecs.capability.docker-remote-api.1.41": "",
	} {
		if got, ok := attrs[name]; !ok || got != want {
			t.Errorf("attribute %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if arch := attrs["ecs.cpu-architecture"]; arch != "x86_64" && arch != "arm64" {
		t.Errorf("ecs.cpu-architecture %q, want x86_64 or arm64", arch)
	}
	if v := ci.VersionInfo; v == nil || aws.ToString(v.AgentVersion) != "1.80.0" || aws.ToString(v.DockerVersion) != "24.0.7" {
		t.Errorf("versionInfo %+v, want the one given", v)
	}
	for _, rs := range [][]types.Resource{ci.RegisteredResources, ci.RemainingResources} {
		if cpu, mem := resourceOf(rs, "CPU"), resourceOf(rs, "MEMORY"); cpu.IntegerValue != 2048 || mem.IntegerValue != 4096 {
			t.Errorf("CPU %d and MEMORY %d, want 2048 and 4096", cpu.IntegerValue, mem.IntegerValue)
		}
		if ports := resourceOf(rs, "PORTS").StringSetValue; !slices.Equal(ports, []string{"22", "2375", "2376", "8080", "51678", "51679"}) {
			t.Errorf("PORTS %v, want ECS's reserved ports and 8080", ports)
		}
		if udp := resourceOf(rs, "PORTS_UDP").StringSetValue; !slices.Equal(udp, []string{"53"}) {
			t.Errorf("PORTS_UDP %v, want [53]", udp)
		}
	}
}

func TestRegisterContainerInstanceCreatesTheDefaultClusterOnFirstUse(t *testing.T) {
	client := testClient(t)
	ci := registerInstance(t, client, &ecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{intResource("CPU", 1024), intResource("MEMORY", 512)}})
	if !strings.Contains(aws.ToString(ci.ContainerInstanceArn), ":container-instance/default/") {
		t.Errorf("ARN %s, want one of the default cluster", aws.ToString(ci.ContainerInstanceArn))
	}
	desc, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{})
	if err != nil || len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Status) != "ACTIVE" {
		t.Errorf("default cluster after the registration: %+v, %v; want it ACTIVE", desc, err)
	}
}

func TestRegisterContainerInstanceSizesAnInstanceByItsInstanceType(t *testing.T) {
	client := testClient(t)
	ci := registerInstance(t, client, &ecs.RegisterContainerInstanceInput{
		Attributes: []types.Attribute{attr("ecs.instance-type", "t3.medium"), attr("ecs.availability-zone", "us-east-1b")},
	})
	if cpu, mem := resourceOf(ci.RegisteredResources, "CPU"), resourceOf(ci.RegisteredResources, "MEMORY"); cpu.IntegerValue != 2048 || mem.IntegerValue != 4*1024*975/1000 {
		t.Errorf("t3.medium registered CPU %d and MEMORY %d, want 2048 and %d", cpu.IntegerValue, mem.IntegerValue, 4*1024*975/1000)
	}
	if attrs := attributeMap(ci.Attributes); attrs["ecs.availability-zone"] != "us-east-1b" || attrs["ecs.instance-type"] != "t3.medium" {
		t.Errorf("zone %s and type %s, want the ones given", attrs["ecs.availability-zone"], attrs["ecs.instance-type"])
	}
}

func TestRegisterContainerInstanceWithoutResourcesOrTypeGetsThisMachinesSize(t *testing.T) {
	client := testClient(t)
	ci := registerInstance(t, client, &ecs.RegisterContainerInstanceInput{})
	if cpu, mem := resourceOf(ci.RegisteredResources, "CPU"), resourceOf(ci.RegisteredResources, "MEMORY"); cpu.IntegerValue < 1024 || mem.IntegerValue <= 0 {
		t.Errorf("CPU %d and MEMORY %d, want this machine's", cpu.IntegerValue, mem.IntegerValue)
	}
}

func TestRegisteringAnInstanceAgainUnderItsARNKeepsItsIdentity(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	first := registerInstance(t, client, sized("web"))
	in := sized("web", attr("stack", "blue"))
	in.ContainerInstanceArn = first.ContainerInstanceArn
	again := registerInstance(t, client, in)
	if aws.ToString(again.ContainerInstanceArn) != aws.ToString(first.ContainerInstanceArn) || aws.ToString(again.Ec2InstanceId) != aws.ToString(first.Ec2InstanceId) {
		t.Errorf("registered again as %s (%s), want %s (%s)", aws.ToString(again.ContainerInstanceArn), aws.ToString(again.Ec2InstanceId), aws.ToString(first.ContainerInstanceArn), aws.ToString(first.Ec2InstanceId))
	}
	if again.Version != 2 || attributeMap(again.Attributes)["stack"] != "blue" {
		t.Errorf("version %d, attributes %v; want 2 and the new attributes", again.Version, attributeMap(again.Attributes))
	}
	list, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("web")})
	if err != nil || len(list.ContainerInstanceArns) != 1 {
		t.Errorf("instances of web: %v, %v; want the one", list, err)
	}

	if _, err := client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: first.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	_, err = client.RegisterContainerInstance(ctx, in)
	if msg := wantAPIError(t, err, api.TypeClient); !strings.Contains(msg, "is inactive") {
		t.Errorf("registering a deregistered instance again: %q, want ECS's words", msg)
	}
}

func TestRegisterContainerInstanceRefusesBadInput(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	tooMany := sized("web")
	for i := range 11 {
		tooMany.Attributes = append(tooMany.Attributes, attr("custom"+string(rune('a'+i)), "x"))
	}
	otherCluster := sized("web")
	otherCluster.ContainerInstanceArn = aws.String(namer.ContainerInstance("other", "0123456789abcdef0123456789abcdef"))
	withResources := func(rs ...types.Resource) *ecs.RegisterContainerInstanceInput {
		return &ecs.RegisterContainerInstanceInput{Cluster: aws.String("web"), TotalResources: rs}
	}
	tests := []struct {
		name string
		in   *ecs.RegisterContainerInstanceInput
		code string
		says string
	}{
		{"an unknown cluster", sized("nope"), api.TypeClusterNotFound, ""},
		{"a resource ECS does not have", withResources(intResource("GPU", 1)), api.TypeInvalidParameter, "totalResources[0].name"},
		{"a CPU of no units", withResources(intResource("CPU", -1)), api.TypeInvalidParameter, "totalResources[0].integerValue"},
		{"memory beyond what ECS counts", withResources(types.Resource{Name: aws.String("MEMORY"), LongValue: 1 << 40}), api.TypeInvalidParameter, "totalResources[0].integerValue"},
		{"memory as a string set", withResources(portsResource("MEMORY", "1")), api.TypeInvalidParameter, "totalResources[0].type"},
		{"a port that is no port", withResources(portsResource("PORTS", "70000")), api.TypeInvalidParameter, "totalResources[0].stringSetValue"},
		{"an attribute name with a space", sized("web", attr("my stack", "x")), api.TypeInvalidParameter, "attributes[0]"},
		{"an attribute value ending in a space", sized("web", attr("stack", "x ")), api.TypeInvalidParameter, "attributes[0]"},
		{"an unknown instance type", &ecs.RegisterContainerInstanceInput{Cluster: aws.String("web"), Attributes: []types.Attribute{attr("ecs.instance-type", "z9.huge")}}, api.TypeInvalidParameter, `instance type "z9.huge" is not one berth knows`},
		{"eleven custom attributes", tooMany, api.TypeAttributeLimitExceeded, ""},
		{"the ARN of an instance of another cluster", otherCluster, api.TypeInvalidParameter, "containerInstanceArn"},
		{"an ARN that is no instance's", &ecs.RegisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstanceArn: aws.String("nope")}, api.TypeInvalidParameter, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.RegisterContainerInstance(context.Background(), tt.in)
			if msg := wantAPIError(t, err, tt.code); !strings.Contains(msg, tt.says) {
				t.Errorf("message %q, want it to say %q", msg, tt.says)
			}
		})
	}
}

func TestDeregisterContainerInstanceMakesItInactiveAndLetsTheClusterGo(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	ci := registerInstance(t, client, sized("web"))

	_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")})
	wantAPIError(t, err, api.TypeClusterContainsContainerInstances)
	if n := registeredCount(t, client, "web"); n != 1 {
		t.Errorf("registeredContainerInstancesCount %d with one instance, want 1", n)
	}

	id := aws.ToString(ci.ContainerInstanceArn)[strings.LastIndex(aws.ToString(ci.ContainerInstanceArn), "/")+1:]
	out, err := client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.ContainerInstance; aws.ToString(c.Status) != "INACTIVE" || c.Version != 2 || c.AgentConnected {
		t.Errorf("deregistered: status %s, version %d, agentConnected %v; want INACTIVE, 2, false", aws.ToString(c.Status), c.Version, c.AgentConnected)
	}
	again, err := client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: ci.ContainerInstanceArn, Force: aws.Bool(true)})
	if err != nil || aws.ToString(again.ContainerInstance.Status) != "INACTIVE" || again.ContainerInstance.Version != 2 {
		t.Errorf("deregistered again: %+v, %v; want it unchanged", again, err)
	}
	desc, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: []string{id}})
	if err != nil || len(desc.ContainerInstances) != 1 || aws.ToString(desc.ContainerInstances[0].Status) != "INACTIVE" {
		t.Errorf("describe after deregistering: %+v, %v; want it INACTIVE", desc, err)
	}
	list, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("web")})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Errorf("list after deregistering: %v, %v; want none", list, err)
	}
	if n := registeredCount(t, client, "web"); n != 0 {
		t.Errorf("registeredContainerInstancesCount %d after deregistering, want 0", n)
	}
	if _, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")}); err != nil {
		t.Errorf("delete the cluster after deregistering its instance: %v", err)
	}
}

func registeredCount(t *testing.T, client *ecs.Client, cluster string) int32 {
	t.Helper()
	out, err := client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("describe %s: %+v, %v", cluster, out, err)
	}
	return out.Clusters[0].RegisteredContainerInstancesCount
}

func TestDeregisterContainerInstanceRefusesWhatItCannotFind(t *testing.T) {
	client := testClient(t)
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	tests := []struct {
		name, cluster, instance, code string
	}{
		{"an unknown instance", "web", "0123456789abcdef0123456789abcdef", api.TypeInvalidParameter},
		{"an instance of an unknown cluster", "nope", "0123456789abcdef0123456789abcdef", api.TypeClusterNotFound},
		{"an ID that is no ID", "web", "nope", api.TypeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.DeregisterContainerInstance(context.Background(), &ecs.DeregisterContainerInstanceInput{Cluster: aws.String(tt.cluster), ContainerInstance: aws.String(tt.instance)})
			wantAPIError(t, err, tt.code)
		})
	}
}

func TestDescribeContainerInstancesAnswersMissingOnesAsFailuresAndTagsWhenIncluded(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	in := sized("web")
	in.Tags = []types.Tag{tag("team", "blue")}
	ci := registerInstance(t, client, in)
	missing := namer.ContainerInstance("web", "0123456789abcdef0123456789abcdef")
	refs := []string{aws.ToString(ci.ContainerInstanceArn), missing}

	plain, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.ContainerInstances) != 1 || len(plain.ContainerInstances[0].Tags) != 0 {
		t.Errorf("without include: %+v, want the instance without tags", plain.ContainerInstances)
	}
	if len(plain.Failures) != 1 || aws.ToString(plain.Failures[0].Arn) != missing || aws.ToString(plain.Failures[0].Reason) != "MISSING" {
		t.Errorf("failures %+v, want %s MISSING", plain.Failures, missing)
	}
	tagged, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("web"), ContainerInstances: refs[:1], Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil || len(tagged.ContainerInstances) != 1 || len(tagged.ContainerInstances[0].Tags) != 1 {
		t.Errorf("with include TAGS: %+v, %v; want team=blue", tagged, err)
	}
	_, err = client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("nope"), ContainerInstances: refs})
	wantAPIError(t, err, api.TypeClusterNotFound)
}

func TestListContainerInstancesFiltersByStatusAndQueryAndPages(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	var all []string
	for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1b"} {
		ci := registerInstance(t, client, sized("web", attr("ecs.availability-zone", zone)))
		all = append(all, aws.ToString(ci.ContainerInstanceArn))
	}
	slices.Sort(all)
	if _, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("web"), ContainerInstances: all[:1], Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	list := func(in *ecs.ListContainerInstancesInput) []string {
		t.Helper()
		in.Cluster = aws.String("web")
		out, err := client.ListContainerInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.ContainerInstanceArns
	}
	if got := list(&ecs.ListContainerInstancesInput{}); !slices.Equal(got, all) {
		t.Errorf("no status: %v, want every instance %v", got, all)
	}
	if got := list(&ecs.ListContainerInstancesInput{Status: types.ContainerInstanceStatusDraining}); !slices.Equal(got, all[:1]) {
		t.Errorf("DRAINING: %v, want %v", got, all[:1])
	}
	zoneB := list(&ecs.ListContainerInstancesInput{Filter: aws.String("attribute:ecs.availability-zone == us-east-1b")})
	if len(zoneB) != 2 {
		t.Errorf("in us-east-1b: %v, want two", zoneB)
	}
	if got := list(&ecs.ListContainerInstancesInput{Filter: aws.String("agentConnected == true && runningTasksCount == 0 && ec2InstanceId =~ i-.*")}); len(got) != 3 {
		t.Errorf("connected with no task: %v, want all three", got)
	}
	var paged []string
	for token := (*string)(nil); ; {
		out, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("web"), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, out.ContainerInstanceArns...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(paged, all) {
		t.Errorf("in pages of 2: %v, want %v", paged, all)
	}

	tests := []struct {
		name string
		in   *ecs.ListContainerInstancesInput
		code string
		says string
	}{
		{"a filter with a syntax error", &ecs.ListContainerInstancesInput{Cluster: aws.String("web"), Filter: aws.String("attribute:ecs.os-type ==")}, api.TypeInvalidParameter, "position"},
		{"a status ECS does not have", &ecs.ListContainerInstancesInput{Cluster: aws.String("web"), Status: "SLEEPING"}, api.TypeInvalidParameter, "status"},
		{"an unknown cluster", &ecs.ListContainerInstancesInput{Cluster: aws.String("nope")}, api.TypeClusterNotFound, ""},
		{"a token berth did not give", &ecs.ListContainerInstancesInput{Cluster: aws.String("web"), NextToken: aws.String("nope")}, api.TypeInvalidParameter, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListContainerInstances(ctx, tt.in)
			if msg := wantAPIError(t, err, tt.code); !strings.Contains(msg, tt.says) {
				t.Errorf("message %q, want it to say %q", msg, tt.says)
			}
		})
	}
}

func TestUpdateContainerInstancesStateDrainsAndReactivatesAndFailsUnknownInstances(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	ci := registerInstance(t, client, sized("web"))
	missing := namer.ContainerInstance("web", "0123456789abcdef0123456789abcdef")
	for i, status := range []types.ContainerInstanceStatus{types.ContainerInstanceStatusDraining, types.ContainerInstanceStatusActive} {
		out, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn), missing}, Status: status,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].Status) != string(status) || out.ContainerInstances[0].Version != int64(i+2) {
			t.Errorf("set %s: %+v, want the instance %s at version %d", status, out.ContainerInstances, status, i+2)
		}
		if len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
			t.Errorf("set %s: failures %+v, want the unknown instance MISSING", status, out.Failures)
		}
	}
	_, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("web"), ContainerInstances: []string{aws.ToString(ci.ContainerInstanceArn)}, Status: "INACTIVE"})
	wantAPIError(t, err, api.TypeInvalidParameter)
}

func TestTagsOnContainerInstances(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	in := sized("web")
	in.Tags = []types.Tag{tag("team", "blue")}
	arn := aws.ToString(registerInstance(t, client, in).ContainerInstanceArn)
	if got := tagsOf(t, client, arn); !slices.Equal(got, []string{"team=blue"}) {
		t.Errorf("tags as registered: %v, want team=blue", got)
	}
	if _, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{tag("env", "prod")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(t, client, arn); !slices.Equal(got, []string{"env=prod"}) {
		t.Errorf("tags after TagResource and UntagResource: %v, want env=prod", got)
	}
	_, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(namer.ContainerInstance("web", "0123456789abcdef0123456789abcdef")), Tags: []types.Tag{tag("a", "b")}})
	wantAPIError(t, err, api.TypeResourceNotFound)
}

// Each instance shows its own loopback host address as the attribute
// berth.host-address: a fact of the instance, which the cluster query
// language finds and PutAttributes leaves alone.
func TestAnInstanceShowsItsHostAddressAsAnAttributeBerthSets(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	createCluster(t, client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	first := registerInstance(t, client, sized("web"))
	second := registerInstance(t, client, sized("web"))
	a, b := attributeMap(first.Attributes)["berth.host-address"], attributeMap(second.Attributes)["berth.host-address"]
	if !regexp.MustCompile(`^127\.0\.\d+\.\d+$`).MatchString(a) || a == b {
		t.Fatalf("host addresses %q and %q, want two loopback addresses of their own", a, b)
	}
	list, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("web"), Filter: aws.String("attribute:berth.host-address == " + b)})
	if err != nil || len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != aws.ToString(second.ContainerInstanceArn) {
		t.Errorf("instances with host address %s: %v (%v), want %s", b, list.ContainerInstanceArns, err, aws.ToString(second.ContainerInstanceArn))
	}
	_, err = client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		{Name: aws.String("berth.host-address"), Value: aws.String("127.0.0.9"), TargetId: first.ContainerInstanceArn}}})
	if err == nil || !strings.Contains(err.Error(), `"berth.host-address" is set by berth and cannot be changed`) {
		t.Errorf("PutAttributes of the host address berth gave the instance: %v", err)
	}
}
