package controller_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// startBerthServer runs the built `berth server` on a free loopback port
// (with flags more, if any) and returns its URL, read from its "listening
// on" line. SIGTERM stops it when the test ends.
func startBerthServer(t *testing.T, stateDir string, more ...string) string {
	t.Helper()
	testenv.HoldVPC(t, testenv.Docker(t))
	bin := testenv.BerthBinary(t)
	cmd := exec.Command(bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", stateDir}, more...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				urls <- url
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("berth server exited with %v after SIGTERM\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("berth server did not stop on SIGTERM\n%s", stderr.String())
		}
	})
	select {
	case url := <-urls:
		return url
	case err := <-exited:
		t.Fatalf("berth server exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("berth server said nowhere where it listens\n%s", stderr.String())
	}
	return ""
}

// awsECS runs `aws ecs ARGS` against url with dummy credentials and none
// of the machine user's configuration, and decodes its JSON output into
// out (when not nil).
func awsECS(t *testing.T, url string, out any, args ...string) {
	t.Helper()
	stdout, stderr, err := testenv.AWSCLI(t, url, append([]string{"ecs"}, args...)...)
	if err != nil {
		t.Fatalf("aws ecs %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			t.Fatalf("aws ecs %s printed %q: %v", strings.Join(args, " "), stdout, err)
		}
	}
}

func TestTheAWSCLIManagesClustersAndTaskDefinitionsOnBerthServer(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not installed; install it (pip install awscli, or Debian's awscli) to run this test")
	}
	url := startBerthServer(t, t.TempDir())

	var cluster struct {
		Cluster struct{ ClusterArn, Status string }
	}
	awsECS(t, url, &cluster, "create-cluster", "--cluster-name", "demo")
	if cluster.Cluster.ClusterArn != namer.Cluster("demo") || cluster.Cluster.Status != "ACTIVE" {
		t.Errorf("create-cluster printed %+v", cluster)
	}

	examples, err := filepath.Glob("../examples/*.json")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	families := map[string]bool{}
	for _, file := range examples {
		var reg struct {
			TaskDefinition struct {
				Family, TaskDefinitionArn, Status string
				Revision                          int
			}
		}
		awsECS(t, url, &reg, "register-task-definition", "--cli-input-json", "file://"+file)
		td := reg.TaskDefinition
		if td.Status != "ACTIVE" || td.Revision != 1 || td.TaskDefinitionArn != namer.TaskDefinition(td.Family, 1) {
			t.Errorf("%s registered as %+v", file, td)
		}
		families[td.Family] = true
	}

	var list struct{ TaskDefinitionArns []string }
	awsECS(t, url, &list, "list-task-definitions")
	if len(list.TaskDefinitionArns) != len(examples) {
		t.Errorf("list-task-definitions printed %d ARNs, want %d: %v", len(list.TaskDefinitionArns), len(examples), list.TaskDefinitionArns)
	}
	var fams struct{ Families []string }
	awsECS(t, url, &fams, "list-task-definition-families")
	if len(fams.Families) != len(families) {
		t.Errorf("list-task-definition-families printed %v, want %d families", fams.Families, len(families))
	}

	var desc struct {
		TaskDefinition struct {
			Family               string
			Revision             int
			ContainerDefinitions []struct{ Name, Image string }
		}
	}
	awsECS(t, url, &desc, "describe-task-definition", "--task-definition", "one-shot-job")
	if desc.TaskDefinition.Revision != 1 || len(desc.TaskDefinition.ContainerDefinitions) != 1 || desc.TaskDefinition.ContainerDefinitions[0].Image != "berth/demo:latest" {
		t.Errorf("describe-task-definition printed %+v", desc)
	}

	var dereg struct{ TaskDefinition struct{ Status string } }
	awsECS(t, url, &dereg, "deregister-task-definition", "--task-definition", "one-shot-job:1")
	if dereg.TaskDefinition.Status != "INACTIVE" {
		t.Errorf("deregister-task-definition printed %+v", dereg)
	}

	var clusters struct{ ClusterArns []string }
	awsECS(t, url, &clusters, "list-clusters")
	if len(clusters.ClusterArns) != 1 || clusters.ClusterArns[0] != namer.Cluster("demo") {
		t.Errorf("list-clusters printed %v", clusters.ClusterArns)
	}
	awsECS(t, url, &cluster, "delete-cluster", "--cluster", "demo")
	if cluster.Cluster.Status != "INACTIVE" {
		t.Errorf("delete-cluster printed %+v", cluster)
	}
	var described struct {
		Clusters []struct{ ClusterName, Status string }
		Failures []struct{ Arn, Reason string }
	}
	awsECS(t, url, &described, "describe-clusters", "--clusters", "demo", "default")
	if len(described.Clusters) != 1 || described.Clusters[0].Status != "INACTIVE" || len(described.Failures) != 1 || described.Failures[0].Reason != "MISSING" {
		t.Errorf("describe-clusters printed %+v", described)
	}
}

func TestTheAWSCLIManagesContainerInstancesAndAttributesOnBerthServer(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not installed; install it (pip install awscli, or Debian's awscli) to run this test")
	}
	url := startBerthServer(t, t.TempDir())
	awsECS(t, url, nil, "create-cluster", "--cluster-name", "demo")

	var reg struct {
		ContainerInstance struct {
			ContainerInstanceArn, Status string
			RegisteredResources          []struct {
				Name         string
				IntegerValue int
			}
		}
	}
	awsECS(t, url, &reg, "register-container-instance", "--cluster", "demo",
		"--total-resources", "name=CPU,type=INTEGER,integerValue=1024", "name=MEMORY,type=INTEGER,integerValue=512",
		"--attributes", "name=ecs.availability-zone,value=us-east-1b")
	arn := reg.ContainerInstance.ContainerInstanceArn
	if reg.ContainerInstance.Status != "ACTIVE" || len(reg.ContainerInstance.RegisteredResources) != 4 || reg.ContainerInstance.RegisteredResources[0].IntegerValue != 1024 {
		t.Errorf("register-container-instance printed %+v", reg)
	}

	var list struct{ ContainerInstanceArns []string }
	awsECS(t, url, &list, "list-container-instances", "--cluster", "demo", "--filter", "attribute:ecs.availability-zone == us-east-1b")
	if len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != arn {
		t.Errorf("list-container-instances --filter printed %v, want %s", list.ContainerInstanceArns, arn)
	}

	awsECS(t, url, nil, "put-attributes", "--cluster", "demo", "--attributes", "name=stack,value=prod,targetId="+arn)
	var attrs struct {
		Attributes []struct{ Name, Value, TargetId string }
	}
	awsECS(t, url, &attrs, "list-attributes", "--cluster", "demo", "--target-type", "container-instance", "--attribute-name", "stack")
	if len(attrs.Attributes) != 1 || attrs.Attributes[0].Value != "prod" || attrs.Attributes[0].TargetId != arn {
		t.Errorf("list-attributes printed %+v", attrs)
	}

	var update struct{ ContainerInstances []struct{ Status string } }
	awsECS(t, url, &update, "update-container-instances-state", "--cluster", "demo", "--container-instances", arn, "--status", "DRAINING")
	if len(update.ContainerInstances) != 1 || update.ContainerInstances[0].Status != "DRAINING" {
		t.Errorf("update-container-instances-state printed %+v", update)
	}
	var dereg struct{ ContainerInstance struct{ Status string } }
	awsECS(t, url, &dereg, "deregister-container-instance", "--cluster", "demo", "--container-instance", arn)
	if dereg.ContainerInstance.Status != "INACTIVE" {
		t.Errorf("deregister-container-instance printed %+v", dereg)
	}
	var desc struct{ ContainerInstances []struct{ Status string } }
	awsECS(t, url, &desc, "describe-container-instances", "--cluster", "demo", "--container-instances", arn)
	if len(desc.ContainerInstances) != 1 || desc.ContainerInstances[0].Status != "INACTIVE" {
		t.Errorf("describe-container-instances printed %+v", desc)
	}
}
