package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/taskdef"
)

// fakeServer answers the ECS API as a berth server with two clusters and a
// family of two revisions would, one page item at a time, so that the
// commands' paging is exercised.
func fakeServer(t *testing.T) string {
	t.Helper()
	n := api.Namer{Region: "us-east-1", AccountID: "000000000000"}
	clusters := map[string]api.Cluster{
		"default": {ClusterName: "default", ClusterArn: n.Cluster("default"), Status: "ACTIVE", RegisteredContainerInstancesCount: 2, RunningTasksCount: 3, PendingTasksCount: 1},
		"class": {ClusterName: "class", ClusterArn: n.Cluster("class"), Status: "ACTIVE", Tags: []taskdef.Tag{{Key: "course", Value: "ecs-101"}},
			Statistics: []api.KeyValuePair{{Name: "runningEC2TasksCount", Value: "2"}, {Name: "drainingFargateServiceCount", Value: "0"}}},
	}
	registered := time.Now().Add(-2*time.Hour - time.Minute)
	memory, reservation, port := 128, 64, 8080
	web := func(rev int) *api.TaskDefinition {
		return &api.TaskDefinition{
			TaskDefinition: taskdef.TaskDefinition{Family: "web", NetworkMode: "awsvpc", CPU: "256", Memory: "512",
				RequiresCompatibilities: []string{"EC2", "FARGATE"},
				ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "app", Image: "berth/demo:latest", CPU: 128, Memory: &memory, MemoryReservation: &reservation,
					PortMappings: []taskdef.PortMapping{{ContainerPort: &port}}}}},
			TaskDefinitionArn: n.TaskDefinition("web", rev), Revision: int32(rev), Status: "ACTIVE",
			Compatibilities: []string{"EC2", "FARGATE"}, RegisteredAt: api.Time(registered),
		}
	}
	mux := api.NewMux(nil)
	api.Handle(mux, "ListClusters", func(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
		if in.NextToken == "" {
			return &api.ListClustersOutput{ClusterArns: []string{n.Cluster("class")}, NextToken: "page-2"}, nil
		}
		return &api.ListClustersOutput{ClusterArns: []string{n.Cluster("default")}}, nil
	})
	api.Handle(mux, "DescribeClusters", func(ctx context.Context, in *api.DescribeClustersInput) (*api.DescribeClustersOutput, error) {
		out := &api.DescribeClustersOutput{Clusters: []api.Cluster{}, Failures: []api.Failure{}}
		for _, ref := range in.Clusters {
			name, err := api.ClusterName(ref)
			if err != nil {
				return nil, err
			}
			if cl, ok := clusters[name]; ok {
				out.Clusters = append(out.Clusters, cl)
			} else {
				out.Failures = append(out.Failures, api.Failure{Arn: n.Cluster(name), Reason: "MISSING"})
			}
		}
		return out, nil
	})
	api.Handle(mux, "CreateCluster", func(ctx context.Context, in *api.CreateClusterInput) (*api.CreateClusterOutput, error) {
		return &api.CreateClusterOutput{Cluster: &api.Cluster{ClusterName: in.ClusterName, ClusterArn: n.Cluster(in.ClusterName), Status: "ACTIVE"}}, nil
	})
	api.Handle(mux, "DeleteCluster", func(ctx context.Context, in *api.DeleteClusterInput) (*api.DeleteClusterOutput, error) {
		return nil, &api.Error{Type: api.TypeClusterContainsTasks, Message: "The Cluster cannot be deleted while Tasks are active."}
	})
	api.Handle(mux, "ListTaskDefinitions", func(ctx context.Context, in *api.ListTaskDefinitionsInput) (*api.ListTaskDefinitionsOutput, error) {
		if in.FamilyPrefix != "" && in.FamilyPrefix != "web" { // the whole family, as ECS matches it
			return &api.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}}, nil
		}
		if in.NextToken == "" {
			return &api.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{n.TaskDefinition("web", 2)}, NextToken: "page-2"}, nil
		}
		return &api.ListTaskDefinitionsOutput{TaskDefinitionArns: []string{n.TaskDefinition("web", 1)}}, nil
	})
	api.Handle(mux, "ListTaskDefinitionFamilies", func(ctx context.Context, in *api.ListTaskDefinitionFamiliesInput) (*api.ListTaskDefinitionFamiliesOutput, error) {
		var out []string
		for _, f := range []string{"web", "worker"} {
			if strings.HasPrefix(f, in.FamilyPrefix) {
				out = append(out, f)
			}
		}
		return &api.ListTaskDefinitionFamiliesOutput{Families: out}, nil
	})
	api.Handle(mux, "DescribeTaskDefinition", func(ctx context.Context, in *api.DescribeTaskDefinitionInput) (*api.DescribeTaskDefinitionOutput, error) {
		return &api.DescribeTaskDefinitionOutput{TaskDefinition: web(2), Tags: []taskdef.Tag{{Key: "team", Value: "web"}}}, nil
	})
	api.Handle(mux, "DeregisterTaskDefinition", func(ctx context.Context, in *api.DeregisterTaskDefinitionInput) (*api.DeregisterTaskDefinitionOutput, error) {
		if in.TaskDefinition != "web:1" {
			return nil, api.ClientException("The specified task definition does not exist.")
		}
		td := web(1)
		td.Status, td.DeregisteredAt = "INACTIVE", api.Time(registered.Add(time.Hour))
		return &api.DeregisterTaskDefinitionOutput{TaskDefinition: td}, nil
	})
	api.Handle(mux, "RegisterTaskDefinition", func(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
		td := web(3)
		td.Family, td.TaskDefinitionArn = in.Family, n.TaskDefinition(in.Family, 3)
		return &api.RegisterTaskDefinitionOutput{TaskDefinition: td}, nil
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The client commands print tables a person reads, the API's own shapes
// with -o json, and ECS's error in one line.
func TestClientCommandsPrintWhatTheServerSays(t *testing.T) {
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	endpoint := fakeServer(t)
	tests := []struct {
		name string
		args []string
	}{
		{"cluster-list", []string{"cluster", "list"}},
		{"cluster-describe", []string{"cluster", "describe", "class", "nowhere"}},
		{"cluster-create", []string{"cluster", "create", "class", "--tag", "course=ecs-101"}},
		{"cluster-delete-refused", []string{"cluster", "delete", "default"}},
		{"taskdef-list", []string{"taskdef", "list"}},
		{"taskdef-describe", []string{"taskdef", "describe", "web"}},
		{"taskdef-register", []string{"taskdef", "register", filepath.Join("..", "..", "examples", "one-shot-job.json")}},
		{"taskdef-list-json", []string{"taskdef", "list", "-o", "json"}},
		{"taskdef-list-wide", []string{"taskdef", "list", "-o", "wide"}},
		{"taskdef-list-family", []string{"taskdef", "list", "--family", "web"}},
		{"taskdef-list-family-prefix", []string{"taskdef", "list", "--family", "we"}},
		{"taskdef-deregister", []string{"taskdef", "deregister", "web:1"}},
		{"taskdef-deregister-unknown", []string{"taskdef", "deregister", "web:9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkClientGolden(t, endpoint, tt.name, tt.args) })
	}
}

// checkClientGolden runs berth with args against the server at endpoint
// and checks the command line, its output, its one-line error and its exit
// status against testdata/client-NAME.golden.
func checkClientGolden(t *testing.T, endpoint, name string, args []string) {
	t.Helper()
	stdout, msg, code := executeRoot(append(args, "--endpoint", endpoint))
	got := fmt.Sprintf("$ berth %s\n%s", strings.Join(quoteArgs(args), " "), stdout)
	if msg != "" {
		got += "berth: " + msg + "\n"
	}
	got += fmt.Sprintf("exit status %d\n", code)
	checkGolden(t, filepath.Join("testdata", "client-"+name+".golden"), got)
}

// With no server at the endpoint, a client command says so in one line,
// with the command that starts one, and exits 1.
func TestClientCommandsSayWhenNoServerAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("BERTH_ENDPOINT", addr)
	for _, args := range [][]string{{"cluster", "list"}, {"taskdef", "describe", "web"}} {
		stdout, msg, code := executeRoot(args)
		if code != exitFailure || stdout != "" || strings.Count(msg, "\n") != 0 ||
			!strings.HasPrefix(msg, "no berth server answers at http://"+addr) || !strings.HasSuffix(msg, "start one with: berth server") {
			t.Errorf("berth %s: exit %d, %q, stdout %q", strings.Join(args, " "), code, msg, stdout)
		}
	}
}

// Tab completes what the server holds: clusters, families, and a family's
// revisions once the word has its colon.
func TestCompletionOffersWhatTheServerHolds(t *testing.T) {
	endpoint := fakeServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "describe", ""}, "class\ndefault\n"},
		{[]string{"cluster", "describe", "class", "d"}, "default\n"},
		{[]string{"taskdef", "describe", "w"}, "web\nworker\n"},
		{[]string{"taskdef", "deregister", "web:"}, "web:2\nweb:1\n"},
		{[]string{"task", "list", "--cluster", "c"}, "class\n"},
		{[]string{"instance", "list", "--cluster", ""}, "class\ndefault\n"},
		{[]string{"task", "list", "--family", "wo"}, "worker\n"},
		{[]string{"run", "--cluster", "d"}, "default\n"},
	}
	for _, tt := range tests {
		stdout, _, code := executeRoot(append([]string{"__complete", "--endpoint", endpoint}, tt.args...))
		if code != exitOK || !strings.HasPrefix(stdout, tt.want+":4\n") {
			t.Errorf("completing %q: exit %d, %q, want %q then :4", tt.args, code, stdout, tt.want)
		}
	}
	// berth run's argument and berth task run's are a file or a family:
	// both are offered (the families, and :0, the shell's files).
	for _, args := range [][]string{{"run", "w"}, {"task", "run", "w"}, {"task", "run", "--cluster", "class", "w"}} {
		if stdout, _, code := executeRoot(append([]string{"__complete", "--endpoint", endpoint}, args...)); code != exitOK || !strings.HasPrefix(stdout, "web\nworker\n:0\n") {
			t.Errorf("completing berth %s: exit %d, %q, want web, worker and the files (:0)", strings.Join(args, " "), code, stdout)
		}
	}
	// Once it has its argument, nothing more.
	if stdout, _, _ := executeRoot([]string{"__complete", "--endpoint", endpoint, "task", "run", "web", ""}); !strings.HasPrefix(stdout, ":4\n") {
		t.Errorf("completing after berth task run's argument: %q", stdout)
	}
	// berth events completes its cluster.
	if stdout, _, _ := executeRoot([]string{"__complete", "--endpoint", endpoint, "events", "--cluster", "c"}); !strings.HasPrefix(stdout, "class\n:4\n") {
		t.Errorf("completing berth events --cluster c: %q", stdout)
	}
	// With no server, nothing is offered, and at once.
	stdout, _, _ := executeRoot([]string{"__complete", "--endpoint", "http://127.0.0.1:1", "cluster", "describe", ""})
	if !strings.HasPrefix(stdout, ":4\n") {
		t.Errorf("with no server: %q", stdout)
	}
}

// berth taskdef list --family takes a family's full name, as
// ListTaskDefinitions' familyPrefix does, and its help says so.
func TestTaskdefListFamilyIsTheWholeName(t *testing.T) {
	stdout, _, code := executeRoot([]string{"taskdef", "list", "--help"})
	if code != exitOK || !strings.Contains(stdout, "only this family's revisions (its full name, as ListTaskDefinitions' familyPrefix takes it)") ||
		!strings.Contains(stdout, "--family web lists web's revisions, not webapp's") || strings.Contains(stdout, "start with") {
		t.Errorf("berth taskdef list --help:\n%s", stdout)
	}
}
