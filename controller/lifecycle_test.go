package controller_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler/fargate"
)

// A Fargate task on the real engine passes through ECS's whole lifecycle,
// each status recorded (seen by the controller's hook in the order of the
// record's versions): PROVISIONING → PENDING → ACTIVATING → RUNNING, and on
// StopTask DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED, its network
// interface going PRECREATED → ATTACHED → DETACHING → DELETED; the metrics
// count every status and the time spent in ACTIVATING and DEACTIVATING.
func TestAFargateTaskPassesThroughEveryStatusOfTheECSLifecycle(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "life", 6)
	defer ts.stop(t)
	ctx := context.Background()
	type step struct {
		version            int64
		status, attachment string
	}
	var mu sync.Mutex
	steps := map[string][]step{}
	ts.ctl.OnStatusRecorded(func(rec store.Task) {
		var task api.Task
		if err := json.Unmarshal(rec.Body, &task); err != nil {
			t.Errorf("task %s: %v", rec.ID, err)
		}
		s := step{version: rec.Version, status: rec.LastStatus}
		if len(task.Attachments) == 1 {
			s.attachment = task.Attachments[0].Status
		}
		mu.Lock()
		steps[rec.ID] = append(steps[rec.ID], s)
		mu.Unlock()
	})
	def, err := os.ReadFile(filepath.Join("..", "examples", "fargate-web.json"))
	if err != nil {
		t.Fatal(err)
	}
	registerJSON(t, ts.srv, def)

	task := runFargateWhenTheVPCIsFree(t, c, cluster, "fargate-web")
	arn := aws.ToString(task.TaskArn)
	if aws.ToString(task.LastStatus) != "PROVISIONING" || task.Attachments[0].Status == nil || *task.Attachments[0].Status != "PRECREATED" {
		t.Errorf("RunTask answered %s, attachment %v; want PROVISIONING, PRECREATED", aws.ToString(task.LastStatus), aws.ToString(task.Attachments[0].Status))
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, arn, "STOPPED")

	mu.Lock()
	recorded := slices.Clone(steps[arn[strings.LastIndexByte(arn, '/')+1:]])
	mu.Unlock()
	slices.SortFunc(recorded, func(a, b step) int { return int(a.version - b.version) })
	var statuses, attachments []string
	for _, s := range recorded {
		statuses = append(statuses, s.status)
		attachments = append(attachments, s.attachment)
	}
	wantStatuses := []string{"PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}
	wantAttachments := []string{"ATTACHED", "ATTACHED", "ATTACHED", "ATTACHED", "ATTACHED", "DETACHING", "DELETED"}
	if !slices.Equal(statuses, wantStatuses) {
		t.Errorf("lastStatus went\n %v\nwant\n %v", statuses, wantStatuses)
	}
	if !slices.Equal(attachments, wantAttachments) {
		t.Errorf("the attachment went\n %v\nwant\n %v", attachments, wantAttachments)
	}

	families, err := ts.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range wantStatuses {
		if n := sampleOf(families, "berth_task_transitions_total", status); n != 1 {
			t.Errorf("berth_task_transitions_total{status=%s} = %v, want 1", status, n)
		}
	}
	for _, status := range []string{"ACTIVATING", "DEACTIVATING"} {
		if n := sampleOf(families, "berth_task_status_duration_seconds", status); n != 1 {
			t.Errorf("berth_task_status_duration_seconds{status=%s} has %v samples, want 1", status, n)
		}
	}
}

// sampleOf is the value of a FARGATE counter, or the sample count of a
// FARGATE histogram, of the status given.
func sampleOf(families []*dto.MetricFamily, name, status string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["launch_type"] != "FARGATE" || labels["status"] != status {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// runFargateWhenTheVPCIsFree runs a Fargate task of family and waits for it
// to be RUNNING. One berth server at a time runs Fargate tasks on an
// engine: while another holds berth's VPC network, the task stops saying
// so, and the test tries again a while, then gives up as skipped.
func runFargateWhenTheVPCIsFree(t *testing.T, c *ecs.Client, cluster, family string) types.Task {
	t.Helper()
	ctx := context.Background()
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network})
		if err != nil || len(run.Tasks) != 1 {
			t.Fatalf("RunTask: %+v %v", run, err)
		}
		arn := aws.ToString(run.Tasks[0].TaskArn)
		for {
			out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
			if err != nil || len(out.Tasks) != 1 {
				t.Fatalf("DescribeTasks: %+v %v", out, err)
			}
			switch got := out.Tasks[0]; aws.ToString(got.LastStatus) {
			case "RUNNING":
				return run.Tasks[0]
			case "STOPPED":
				if !strings.Contains(aws.ToString(got.StoppedReason), "in use by another berth server") {
					t.Fatalf("task %s stopped: %s", arn, aws.ToString(got.StoppedReason))
				}
				if time.Now().After(deadline) {
					t.Skipf("another berth server holds berth's VPC network on this engine: %s", aws.ToString(got.StoppedReason))
				}
				time.Sleep(5 * time.Second)
			default:
				if time.Now().After(deadline) {
					t.Fatalf("task %s did not start: %s", arn, aws.ToString(got.LastStatus))
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			break
		}
	}
}
