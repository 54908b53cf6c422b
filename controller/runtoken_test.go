package controller_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// RunTask's clientToken, as ECS keeps it: a retry with the same token and
// the same request, even several at once, is answered with the first
// call's tasks and starts no other; the same token with another request is
// a ConflictException; a token ECS would not take is refused naming the
// rule.
func TestARunTaskRetriedWithItsClientTokenStartsItsTasksOnce(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "token", 6)
	defer ts.stop(t)
	ctx := context.Background()
	registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 1024), intResource("MEMORY", 512)}})
	registerJSON(t, ts.srv, []byte(`{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32,
	  "command": ["sleep", "300"]}]}`))
	run := func(token string, count int32) (*ecs.RunTaskOutput, error) {
		return c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("sleeper"),
			Count: aws.Int32(count), LaunchType: types.LaunchTypeEc2, ClientToken: aws.String(token)})
	}

	const retries = 8
	answers := make([][]string, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := run("class-101-run-1", 2)
			if err != nil {
				t.Errorf("RunTask %d: %v", i, err)
				return
			}
			for _, task := range out.Tasks {
				answers[i] = append(answers[i], aws.ToString(task.TaskArn))
			}
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if len(a) != 2 || strings.Join(a, " ") != strings.Join(answers[0], " ") {
			t.Errorf("RunTask %d answered %v, RunTask 0 %v: want the same two tasks", i, a, answers[0])
		}
	}
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) != 2 {
		t.Errorf("the cluster runs %d tasks after %d RunTasks of one token, want 2", len(list.TaskArns), retries)
	}

	var apiErr smithy.APIError
	if _, err := run("class-101-run-1", 1); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ConflictException" {
		t.Errorf("the token with another count: %v, want ConflictException", err)
	}
	for _, bad := range []string{strings.Repeat("t", 65), "with space", "tab\there"} {
		if _, err := run(bad, 1); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterException" || !strings.Contains(apiErr.ErrorMessage(), "clientToken") {
			t.Errorf("token %q: %v, want InvalidParameterException naming clientToken", bad, err)
		}
	}
	if out, err := run("class-101-run-2", 1); err != nil || len(out.Tasks) != 1 || out.Tasks[0].TaskArn == nil ||
		strings.Contains(strings.Join(answers[0], " "), aws.ToString(out.Tasks[0].TaskArn)) {
		t.Errorf("a new token: %+v, %v: want a new task", out, err)
	}
	list, _ = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster)})
	for _, arn := range list.TaskArns {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
			t.Error(err)
		}
	}
	for _, arn := range list.TaskArns {
		waitTask(t, c, cluster, arn, "STOPPED")
	}
}
