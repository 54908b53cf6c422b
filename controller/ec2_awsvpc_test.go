package controller_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/scheduler/fargate"
)

// An awsvpc task under the EC2 launch type gets, as on ECS, a network
// interface of its own: an ElasticNetworkInterface attachment in the
// task's subnet of its instance's zone, with an ENI ID and a MAC address
// from RunTask's answer on, and the address the task's network gives it
// once it runs, shown on the attachment and on each container's
// networkInterfaces; the task is reached at that address, and the
// attachment is DELETED once the task has stopped.
func TestAnEC2AwsvpcTaskHasANetworkInterfaceInItsInstancesZone(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "ec2vpc", 6)
	defer ts.stop(t)
	ctx := context.Background()
	registerInstance(t, c, sized(cluster, types.Attribute{Name: aws.String("ecs.availability-zone"), Value: aws.String("us-east-1b")}))
	registerJSON(t, ts.srv, []byte(`{"family": "vpc-web", "networkMode": "awsvpc", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest",
	  "memory": 64, "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}]}]}`))
	var zoneB string
	var subnets []string
	for _, s := range fargate.DefaultSubnets("us-east-1") {
		subnets = append(subnets, s.ID)
		if s.AvailabilityZone == "us-east-1b" {
			zoneB = s.ID
		}
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("vpc-web"), LaunchType: types.LaunchTypeEc2,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: subnets}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v", run.Failures)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	answered := eniDetails(t, run.Tasks[0])
	if answered["subnetId"] != zoneB || !regexp.MustCompile(`^eni-[0-9a-f]{17}$`).MatchString(answered["networkInterfaceId"]) ||
		!regexp.MustCompile(`^0a(:[0-9a-f]{2}){5}$`).MatchString(answered["macAddress"]) || answered["status"] != "PRECREATED" {
		t.Errorf("RunTask's attachment %v: want PRECREATED in %s with an ENI ID and a MAC address", answered, zoneB)
	}

	running := waitTask(t, c, cluster, arn, "RUNNING")
	eni := eniDetails(t, running)
	addr := eni["privateIPv4Address"]
	if eni["status"] != "ATTACHED" || addr == "" || eni["networkInterfaceId"] != answered["networkInterfaceId"] || eni["privateDnsName"] == "" {
		t.Errorf("the running task's attachment %v: want ATTACHED with its address, the same ENI", eni)
	}
	if ni := running.Containers[0].NetworkInterfaces; len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) != addr ||
		aws.ToString(ni[0].AttachmentId) != aws.ToString(running.Attachments[0].Id) {
		t.Errorf("the container's networkInterfaces %+v: want the attachment's, at %s", ni, addr)
	}
	if code := getWhenListening(t, "http://"+addr+":8080/"); code != 200 {
		t.Errorf("the task at its address %s: %d", addr, code)
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if stopped := eniDetails(t, waitTask(t, c, cluster, arn, "STOPPED")); stopped["status"] != "DELETED" || stopped["privateIPv4Address"] != addr {
		t.Errorf("the stopped task's attachment %v: want DELETED, its address kept", stopped)
	}
}

// eniDetails is a task's one ElasticNetworkInterface attachment's details
// by name, with its status under "status".
func eniDetails(t *testing.T, task types.Task) map[string]string {
	t.Helper()
	if len(task.Attachments) != 1 || aws.ToString(task.Attachments[0].Type) != "ElasticNetworkInterface" {
		t.Fatalf("attachments %+v: want one ElasticNetworkInterface", task.Attachments)
	}
	out := map[string]string{"status": aws.ToString(task.Attachments[0].Status)}
	for _, d := range task.Attachments[0].Details {
		out[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return out
}
