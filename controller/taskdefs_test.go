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

// definition is a small valid EC2 definition of family.
func definition(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:   aws.String("app"),
			Image:  aws.String("berth/demo:latest"),
			Memory: aws.Int32(64),
		}},
	}
}

func register(t *testing.T, client *ecs.Client, in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionOutput {
	t.Helper()
	out, err := client.RegisterTaskDefinition(context.Background(), in)
	if err != nil {
		t.Fatalf("register %s: %v", aws.ToString(in.Family), err)
	}
	return out
}

func TestRegisterTaskDefinitionCountsRevisionsPerFamily(t *testing.T) {
	client := testClient(t)
	for _, want := range []string{"web:1", "web:2", "api:1", "web:3"} {
		family, _, _ := strings.Cut(want, ":")
		out := register(t, client, definition(family))
		if got := aws.ToString(out.TaskDefinition.TaskDefinitionArn); got != namer.TaskDefinition(family, int(out.TaskDefinition.Revision)) || !strings.HasSuffix(got, "/"+want) {
			t.Errorf("registered %s, want %s", got, want)
		}
	}
}

func TestRegisterTaskDefinitionShowsTheDefinitionAsRegisteredWithWhatECSAdds(t *testing.T) {
	client := testClient(t)
	in := definition("web")
	in.NetworkMode = types.NetworkModeAwsvpc
	in.Cpu, in.Memory = aws.String("256"), aws.String("512")
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}
	out := register(t, client, in)
	td := out.TaskDefinition
	if td.Status != types.TaskDefinitionStatusActive || td.RegisteredAt == nil || td.Revision != 1 {
		t.Errorf("status %s, registeredAt %v, revision %d; want ACTIVE, set, 1", td.Status, td.RegisteredAt, td.Revision)
	}
	if got := td.ContainerDefinitions[0]; aws.ToString(got.Image) != "berth/demo:latest" || aws.ToInt32(got.Memory) != 64 {
		t.Errorf("container %+v, want it as registered", got)
	}
	if !slices.Equal(td.Compatibilities, []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate}) {
		t.Errorf("compatibilities %v, want EC2 and FARGATE: the definition passes Fargate's rules", td.Compatibilities)
	}
	if len(td.RequiresAttributes) != 1 || aws.ToString(td.RequiresAttributes[0].Name) != "ecs.capability.task-eni" {
		t.Errorf("requiresAttributes %+v, want ecs.capability.task-eni for awsvpc", td.RequiresAttributes)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "team" {
		t.Errorf("tags %+v, want team=blue beside the definition", out.Tags)
	}

	bridge := register(t, client, definition("bridge")).TaskDefinition
	if !slices.Equal(bridge.Compatibilities, []types.Compatibility{types.CompatibilityEc2}) {
		t.Errorf("a bridge definition's compatibilities %v, want EC2 alone", bridge.Compatibilities)
	}
}

func TestRegisterTaskDefinitionRefusesAnInvalidDefinitionNamingTheFieldAndTheRule(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *ecs.RegisterTaskDefinitionInput)
		wants []string // in the message
	}{
		{
			"a container without memory on EC2",
			func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = nil },
			[]string{"/containerDefinitions/0", "At least one of 'memory' or 'memoryReservation' must be specified.", "(container-memory-required)"},
		},
		{
			"a Fargate size ECS does not have",
			func(in *ecs.RegisterTaskDefinitionInput) {
				in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
				in.NetworkMode = types.NetworkModeAwsvpc
				in.Cpu, in.Memory = aws.String("512"), aws.String("512")
			},
			[]string{"/memory", "No Fargate configuration exists for given values: 512 CPU, 512 memory.", "(fargate-size)"},
		},
		{
			"a container name with a space",
			func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Name = aws.String("my app") },
			[]string{"/containerDefinitions/0/name"},
		},
	}
	client := testClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := definition("bad")
			tt.edit(in)
			_, err := client.RegisterTaskDefinition(context.Background(), in)
			msg := wantAPIError(t, err, api.TypeClient)
			for _, want := range tt.wants {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
		})
	}
	// Nothing was registered.
	_, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("bad")})
	wantAPIError(t, err, api.TypeClient)
}

func TestDescribeTaskDefinitionFindsAFamilyARevisionOrAnARN(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	in := definition("web")
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}
	register(t, client, in)
	register(t, client, definition("web"))
	tests := []struct {
		ref  string
		want int32
	}{
		{"web", 2},
		{"web:1", 1},
		{namer.TaskDefinition("web", 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tt.ref)})
			if err != nil {
				t.Fatal(err)
			}
			if out.TaskDefinition.Revision != tt.want || out.Tags != nil {
				t.Errorf("revision %d, tags %+v; want %d without tags", out.TaskDefinition.Revision, out.Tags, tt.want)
			}
		})
	}
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web:1"),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != "blue" {
		t.Errorf("include TAGS: tags %+v, want team=blue", out.Tags)
	}
}

func TestDescribeTaskDefinitionOfAnUnknownDefinitionIsAClientException(t *testing.T) {
	client := testClient(t)
	register(t, client, definition("web"))
	for _, ref := range []string{"nope", "web:2", namer.TaskDefinition("nope", 1)} {
		t.Run(ref, func(t *testing.T) {
			_, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
			if msg := wantAPIError(t, err, api.TypeClient); msg != "Unable to describe task definition." {
				t.Errorf("message %q, want ECS's", msg)
			}
		})
	}
}

func TestDeregisterTaskDefinitionMakesItInactiveAndItsRevisionIsNeverGivenAgain(t *testing.T) {
	client := testClient(t)
	ctx := context.Background()
	register(t, client, definition("web"))
	register(t, client, definition("web"))
	out, err := client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	if out.TaskDefinition.Status != types.TaskDefinitionStatusInactive || out.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: status %s, deregisteredAt %v; want INACTIVE, set", out.TaskDefinition.Status, out.TaskDefinition.DeregisteredAt)
	}
	latest, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil || latest.TaskDefinition.Revision != 1 {
		t.Fatalf("describe web after deregistering web:2: %v, %v; want web:1, the latest ACTIVE", latest, err)
	}
	inactive, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil || inactive.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("describe web:2: %v, %v; want it INACTIVE", inactive, err)
	}
	if rev := register(t, client, definition("web")).TaskDefinition.Revision; rev != 3 {
		t.Errorf("registered revision %d after deregistering 2, want 3", rev)
	}
}

func TestDeregisterTaskDefinitionRefusesWhatItCannotFind(t *testing.T) {
	tests := []struct {
		ref, code string
	}{
		{"web:9", api.TypeClient},
		{"nope:1", api.TypeClient},
		{"web", api.TypeClient}, // a revision is required
		{"web:zero", api.TypeInvalidParameter},
	}
	client := testClient(t)
	register(t, client, definition("web"))
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := client.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(tt.ref)})
			wantAPIError(t, err, tt.code)
		})
	}
	out, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil || out.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		t.Errorf("web:1 after the refused calls: %v, %v; want it ACTIVE still", out, err)
	}
}

// registerAll registers the given family:revision counts and deregisters
// the revisions named in inactive.
func registerAll(t *testing.T, client *ecs.Client, counts map[string]int, inactive ...string) {
	t.Helper()
	families := make([]string, 0, len(counts))
	for f := range counts {
		families = append(families, f)
	}
	slices.Sort(families)
	for _, f := range families {
		for range counts[f] {
			register(t, client, definition(f))
		}
	}
	for _, ref := range inactive {
		if _, err := client.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); err != nil {
			t.Fatal(err)
		}
	}
}

func arns(refs ...string) []string {
	out := make([]string, 0, len(refs))
	for _, ref := range refs {
		family, rev, _ := strings.Cut(ref, ":")
		var n int
		fmt.Sscan(rev, &n)
		out = append(out, namer.TaskDefinition(family, n))
	}
	return out
}

func TestListTaskDefinitionsFiltersSortsAndPages(t *testing.T) {
	client := testClient(t)
	registerAll(t, client, map[string]int{"web": 11, "web-api": 1, "api": 2}, "web:3", "api:1")
	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"ACTIVE by family then revision as a number", ecs.ListTaskDefinitionsInput{},
			arns("api:2", "web:1", "web:2", "web:4", "web:5", "web:6", "web:7", "web:8", "web:9", "web:10", "web:11", "web-api:1")},
		{"one family, newest first", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc},
			arns("web:11", "web:10", "web:9", "web:8", "web:7", "web:6", "web:5", "web:4", "web:2", "web:1")},
		{"INACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive},
			arns("api:1", "web:3")},
		{"a family that is not there", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("we")}, nil},
	}
	for _, tt := range tests {
		for _, size := range []int32{3, 100} {
			t.Run(fmt.Sprintf("%s, %d a page", tt.name, size), func(t *testing.T) {
				in := tt.in
				in.MaxResults = aws.Int32(size)
				var got []string
				p := ecs.NewListTaskDefinitionsPaginator(client, &in)
				for p.HasMorePages() {
					out, err := p.NextPage(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, out.TaskDefinitionArns...)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v\nwant %v", got, tt.want)
				}
			})
		}
	}
}

func TestListTaskDefinitionsRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   *ecs.ListTaskDefinitionsInput
	}{
		{"a token berth never gave", &ecs.ListTaskDefinitionsInput{NextToken: aws.String("forged")}},
		{"a status ECS does not have", &ecs.ListTaskDefinitionsInput{Status: "GONE"}},
		{"a sort ECS does not have", &ecs.ListTaskDefinitionsInput{Sort: "UP"}},
	}
	client := testClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListTaskDefinitions(context.Background(), tt.in)
			wantAPIError(t, err, api.TypeInvalidParameter)
		})
	}
}

func TestListTaskDefinitionFamiliesFiltersByPrefixAndStatus(t *testing.T) {
	client := testClient(t)
	registerAll(t, client, map[string]int{"web": 2, "web-api": 1, "api": 1, "worker": 1}, "web-api:1", "web:1")
	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		{"every family by default", ecs.ListTaskDefinitionFamiliesInput{}, []string{"api", "web", "web-api", "worker"}},
		{"a prefix", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("w")}, []string{"web", "web-api", "worker"}},
		{"those with an ACTIVE revision", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive}, []string{"api", "web", "worker"}},
		{"those without one", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, []string{"web-api"}},
		{"ALL", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll, FamilyPrefix: aws.String("web")}, []string{"web", "web-api"}},
		{"a prefix nothing has", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("x")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.MaxResults = aws.Int32(1)
			var got []string
			p := ecs.NewListTaskDefinitionFamiliesPaginator(client, &in)
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out.Families...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	_, err := client.ListTaskDefinitionFamilies(context.Background(), &ecs.ListTaskDefinitionFamiliesInput{NextToken: aws.String("forged")})
	wantAPIError(t, err, api.TypeInvalidParameter)
}
