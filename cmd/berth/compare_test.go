package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/cost"
)

// fakeCompare is a berth server as berth compare sees it: each method a
// function field, so a test changes only what it needs; calls records
// what was asked, in order.
type fakeCompare struct {
	registerTaskDefinition      func(*api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error)
	listContainerInstances      func(*api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error)
	describeContainerInstances  func(*api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error)
	registerContainerInstance   func(*api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error)
	deregisterContainerInstance func(*api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error)
	runTask                     func(*api.RunTaskInput) (*api.RunTaskOutput, error)
	describeTasks               func(*api.DescribeTasksInput) (*api.DescribeTasksOutput, error)
	stopTask                    func(*api.StopTaskInput) (*api.StopTaskOutput, error)
	describeTaskLimits          func(*api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error)
	billing                     func(cluster string) (*api.Billing, error)
	top                         func(cluster string) (*api.Top, error)

	mu    sync.Mutex
	calls []string
}

func (f *fakeCompare) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeCompare) RegisterTaskDefinition(_ context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
	f.record("RegisterTaskDefinition " + in.Family)
	return f.registerTaskDefinition(in)
}

func (f *fakeCompare) ListContainerInstances(_ context.Context, in *api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error) {
	f.record("ListContainerInstances")
	return f.listContainerInstances(in)
}

func (f *fakeCompare) DescribeContainerInstances(_ context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
	f.record("DescribeContainerInstances")
	return f.describeContainerInstances(in)
}

func (f *fakeCompare) RegisterContainerInstance(_ context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
	f.record("RegisterContainerInstance")
	return f.registerContainerInstance(in)
}

func (f *fakeCompare) DeregisterContainerInstance(_ context.Context, in *api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error) {
	f.record("DeregisterContainerInstance " + lastSegment(in.ContainerInstance))
	return f.deregisterContainerInstance(in)
}

func (f *fakeCompare) RunTask(_ context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
	f.record("RunTask " + in.LaunchType)
	return f.runTask(in)
}

func (f *fakeCompare) DescribeTasks(_ context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
	return f.describeTasks(in)
}

func (f *fakeCompare) StopTask(_ context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error) {
	f.record("StopTask " + lastSegment(in.Task))
	return f.stopTask(in)
}

func (f *fakeCompare) DescribeTaskLimits(_ context.Context, in *api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error) {
	f.record("DescribeTaskLimits")
	return f.describeTaskLimits(in)
}

func (f *fakeCompare) Billing(_ context.Context, cluster string) (*api.Billing, error) {
	f.record("Billing")
	return f.billing(cluster)
}

func (f *fakeCompare) Top(_ context.Context, cluster string) (*api.Top, error) {
	f.record("Top")
	return f.top(cluster)
}

// newFakeCompare answers as a server with an empty default cluster would:
// the definitions registered, a t3.medium registered for the run, two
// Fargate tasks with their own addresses and two bridge-mode EC2 tasks on
// dynamic host ports, RUNNING at once, with the limits the engine shows
// for each, and STOPPED once stopped.
func newFakeCompare() *fakeCompare {
	n := api.Namer{Region: "us-east-1", AccountID: "000000000000"}
	f := &fakeCompare{}
	revisions := map[string]int{}
	instance := n.ContainerInstance("default", "cd18c8c7b21efdd0b2c6644e11b0e45d")
	created := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tasks := map[string]*api.Task{}
	var order []string
	ids := map[string][]string{
		"FARGATE": {"11111111111111111111111111111111", "22222222222222222222222222222222"},
		"EC2":     {"33333333333333333333333333333333", "44444444444444444444444444444444"},
	}
	f.registerTaskDefinition = func(in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
		revisions[in.Family]++
		return &api.RegisterTaskDefinitionOutput{TaskDefinition: &api.TaskDefinition{TaskDefinition: *in,
			TaskDefinitionArn: n.TaskDefinition(in.Family, revisions[in.Family]), Revision: int32(revisions[in.Family]), Status: "ACTIVE"}}, nil
	}
	f.listContainerInstances = func(*api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error) {
		return nil, &api.Error{Type: api.TypeClusterNotFound, Message: "Cluster not found."}
	}
	inst := func(remainingCPU, remainingMiB int32) api.ContainerInstance {
		return api.ContainerInstance{ContainerInstanceArn: instance, Status: "ACTIVE",
			Attributes:          []api.Attribute{{Name: "ecs.instance-type", Value: "t3.medium"}, {Name: "ecs.availability-zone", Value: "us-east-1a"}},
			RegisteredResources: []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 2048}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 3993}},
			RemainingResources:  []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: remainingCPU}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: remainingMiB}}}
	}
	f.registerContainerInstance = func(*api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
		i := inst(2048, 3993)
		return &api.RegisterContainerInstanceOutput{ContainerInstance: &i}, nil
	}
	f.describeContainerInstances = func(*api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
		return &api.DescribeContainerInstancesOutput{ContainerInstances: []api.ContainerInstance{inst(1536, 2969)}}, nil
	}
	f.deregisterContainerInstance = func(*api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error) {
		return &api.DeregisterContainerInstanceOutput{}, nil
	}
	f.runTask = func(in *api.RunTaskInput) (*api.RunTaskOutput, error) {
		out := &api.RunTaskOutput{}
		for i, id := range ids[in.LaunchType] {
			family, rev, _ := api.TaskDefinitionRef(in.TaskDefinition)
			t := &api.Task{TaskArn: n.Task("default", id), TaskDefinitionArn: n.TaskDefinition(family, rev), LaunchType: in.LaunchType,
				LastStatus: "RUNNING", DesiredStatus: "RUNNING", AvailabilityZone: "us-east-1a", StartedBy: in.StartedBy,
				CreatedAt: api.Time(created), StartedAt: api.Time(created.Add(time.Duration(2+i) * time.Second))}
			port := int32(8080)
			if in.LaunchType == "FARGATE" {
				t.CPU, t.Memory, t.CapacityProviderName = "256", "512", "FARGATE"
				t.Attachments = []api.Attachment{{Type: "ElasticNetworkInterface", Details: []api.KeyValuePair{{Name: "privateIPv4Address", Value: fmt.Sprintf("172.31.0.%d", 4+i)}}}}
				t.Containers = []api.Container{{Name: "web"}}
			} else {
				t.ContainerInstanceArn = instance
				host := int32(49153 + i)
				t.Containers = []api.Container{{Name: "web", NetworkBindings: []api.NetworkBinding{{BindIP: "127.0.0.2", ContainerPort: &port, HostPort: &host, Protocol: "tcp"}}}}
			}
			tasks[t.TaskArn] = t
			order = append(order, t.TaskArn)
			out.Tasks = append(out.Tasks, *t)
		}
		return out, nil
	}
	f.describeTasks = func(in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
		out := &api.DescribeTasksOutput{}
		for _, arn := range in.Tasks {
			out.Tasks = append(out.Tasks, *tasks[arn])
		}
		return out, nil
	}
	f.stopTask = func(in *api.StopTaskInput) (*api.StopTaskOutput, error) {
		t := tasks[in.Task]
		t.LastStatus, t.DesiredStatus = "STOPPED", "STOPPED"
		return &api.StopTaskOutput{Task: t}, nil
	}
	f.describeTaskLimits = func(in *api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error) {
		out := &api.DescribeTaskLimitsOutput{}
		for _, arn := range in.Tasks {
			t := tasks[arn]
			l := api.TaskLimits{TaskArn: arn, LaunchType: t.LaunchType}
			if t.LaunchType == "FARGATE" {
				l.CgroupParent = "/ecs/" + lastSegment(arn)
				l.TaskCgroup = &api.CgroupLimits{CPUQuotaMicros: 25000, CPUPeriodMicros: 100000, MemoryLimitBytes: 512 << 20}
				l.Containers = []api.ContainerLimits{{Name: "web", RuntimeID: strings.Repeat("ab", 32), CPUShares: 2, EffectiveMemoryLimitBytes: 512 << 20}}
			} else {
				l.Containers = []api.ContainerLimits{{Name: "web", RuntimeID: strings.Repeat("cd", 32), CPUShares: 256, MemoryReservationBytes: 512 << 20}}
			}
			out.Tasks = append(out.Tasks, l)
		}
		return out, nil
	}
	// The account's quota of 6 vCPUs, of which its two Fargate tasks hold
	// a quarter each, and another cluster's a whole one.
	f.top = func(cluster string) (*api.Top, error) {
		return &api.Top{Cluster: "default", Fargate: api.FargateInUse{VCPUs: 1.5, VCPULimit: 6, MiB: 3072}}, nil
	}
	f.billing = func(cluster string) (*api.Billing, error) {
		prices := cost.Default()
		return &api.Billing{Cluster: "default", Now: created, Prices: &prices}, nil
	}
	return f
}

// compareOpts are berth compare's options as its flags default them, for
// two tasks each way with the EC2 tasks in bridge mode.
func compareOpts(output string) compareOptions {
	o := compareOptions{count: 2, instanceType: "t3.medium", ec2Bridge: true, timeout: time.Minute}
	o.output = output
	return o
}

// berth compare's output, in both formats, for scripts and for people,
// against golden files: the shape -o json promises.
func TestCompareOutput(t *testing.T) {
	for _, output := range []string{"json", "table"} {
		t.Run(output, func(t *testing.T) {
			f := newFakeCompare()
			var out, errOut bytes.Buffer
			err := runCompare(context.Background(), nil, &out, &errOut, f, filepath.Join("..", "..", "examples", "fargate-web.json"), compareOpts(output))
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			checkGolden(t, filepath.Join("testdata", "compare-"+output+".golden"), out.String()+"# stderr\n"+errOut.String())
			want := []string{"RegisterTaskDefinition fargate-web", "RegisterTaskDefinition fargate-web-ec2", "ListContainerInstances", "RegisterContainerInstance", "Billing",
				"RunTask FARGATE", "RunTask EC2", "DescribeTaskLimits", "DescribeContainerInstances", "Top",
				"StopTask 11111111111111111111111111111111", "StopTask 22222222222222222222222222222222",
				"StopTask 33333333333333333333333333333333", "StopTask 44444444444444444444444444444444", "DeregisterContainerInstance cd18c8c7b21efdd0b2c6644e11b0e45d"}
			if !slices.Equal(f.calls, want) {
				t.Errorf("calls:\n got %q\nwant %q", f.calls, want)
			}
		})
	}
}

// Whatever ends the comparison, what it started is stopped and the
// instance it registered deregistered: a failure half way, and Ctrl-C
// while it waits.
func TestCompareStopsWhatItStartedWhenItFails(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(f *fakeCompare, cancel context.CancelFunc)
		wantErr string
		want    []string
	}{
		{"the EC2 tasks cannot be placed", func(f *fakeCompare, _ context.CancelFunc) {
			run := f.runTask
			f.runTask = func(in *api.RunTaskInput) (*api.RunTaskOutput, error) {
				if in.LaunchType == "EC2" {
					return &api.RunTaskOutput{Failures: []api.Failure{{Arn: "arn:instance", Reason: "RESOURCE:MEMORY"}}}, nil
				}
				return run(in)
			}
		}, "EC2 tasks: 1 not placed: RESOURCE:MEMORY", []string{"StopTask 11111111111111111111111111111111", "StopTask 22222222222222222222222222222222", "DeregisterContainerInstance cd18c8c7b21efdd0b2c6644e11b0e45d"}},
		{"the definition is not for Fargate", func(f *fakeCompare, _ context.CancelFunc) {
			f.runTask = func(in *api.RunTaskInput) (*api.RunTaskOutput, error) {
				return nil, api.InvalidParameterException("Task definition does not support launch_type FARGATE.")
			}
		}, "InvalidParameterException: Task definition does not support launch_type FARGATE.", []string{"DeregisterContainerInstance cd18c8c7b21efdd0b2c6644e11b0e45d"}},
		{"Ctrl-C while the tasks start", func(f *fakeCompare, cancel context.CancelFunc) {
			describe := f.describeTasks
			f.describeTasks = func(in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
				out, err := describe(in)
				pending := false
				for i := range out.Tasks {
					if out.Tasks[i].LastStatus == "RUNNING" {
						out.Tasks[i].LastStatus = "PENDING" // never RUNNING, until stopped
						pending = true
					}
				}
				if pending {
					cancel()
				}
				return out, err
			}
		}, "interrupted while 0 of 4 tasks were RUNNING", []string{"StopTask 11111111111111111111111111111111", "StopTask 22222222222222222222222222222222",
			"StopTask 33333333333333333333333333333333", "StopTask 44444444444444444444444444444444", "DeregisterContainerInstance cd18c8c7b21efdd0b2c6644e11b0e45d"}},
		{"a task stops before it runs", func(f *fakeCompare, _ context.CancelFunc) {
			describe := f.describeTasks
			f.describeTasks = func(in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
				out, err := describe(in)
				out.Tasks[0].LastStatus, out.Tasks[0].StoppedReason = "STOPPED", "CannotPullContainerError: no such image"
				return out, err
			}
		}, "FARGATE task 11111111111111111111111111111111 stopped before it was RUNNING: CannotPullContainerError", []string{"StopTask 11111111111111111111111111111111", "StopTask 22222222222222222222222222222222",
			"StopTask 33333333333333333333333333333333", "StopTask 44444444444444444444444444444444", "DeregisterContainerInstance cd18c8c7b21efdd0b2c6644e11b0e45d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCompare()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.break_(f, cancel)
			var out, errOut bytes.Buffer
			err := runCompare(ctx, nil, &out, &errOut, f, filepath.Join("..", "..", "examples", "fargate-web.json"), compareOpts("table"))
			var exit *exitError
			msg := fmt.Sprint(err)
			if errors.As(err, &exit) {
				msg = exit.msg
			}
			if err == nil || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("err %v, want one saying %q", err, tt.wantErr)
			}
			var undone []string
			for _, c := range f.calls {
				if strings.HasPrefix(c, "StopTask") || strings.HasPrefix(c, "Deregister") {
					undone = append(undone, c)
				}
			}
			if !slices.Equal(undone, tt.want) {
				t.Errorf("undone:\n got %q\nwant %q", undone, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("a comparison that failed printed one:\n%s", out.String())
			}
		})
	}
}

// Bad flags and files are refused before anything is started, naming the
// flag or the file.
func TestCompareRefusesBadInputFirst(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "x.json", "--count", "0"}, "--count 0: want 1 to 10, as RunTask takes"},
		{[]string{"compare", "x.json", "--count", "11"}, "--count 11: want 1 to 10, as RunTask takes"},
		{[]string{"compare", filepath.Join(t.TempDir(), "missing.json"), "--endpoint", "http://127.0.0.1:1"}, "missing.json: cannot read"},
		{[]string{"compare", "x.json", "-o", "yaml"}, `--output "yaml": want table, json`},
		{[]string{"compare"}, "one FILE"},
	} {
		stdout, msg, code := executeRoot(tt.args)
		if code != exitUsage || stdout != "" || !strings.Contains(msg, tt.want) {
			t.Errorf("berth %s: exit %d, %q, stdout %q; want exit 2 saying %q", strings.Join(tt.args, " "), code, msg, stdout, tt.want)
		}
	}
}
