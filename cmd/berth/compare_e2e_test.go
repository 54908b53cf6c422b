package main

import (
	"encoding/json"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

// berth compare against a real server and engine, with an example of the
// tree: two Fargate tasks, each with an address of its own and a task
// cgroup the engine enforces, against two bridge-mode EC2 tasks sharing a
// temporary instance on dynamic host ports, with CPU shares and soft
// limits; then nothing of it is left: no task running, no instance, no
// container.
func TestCompareRunsBothLaunchTypesOnARealServer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t) // removes, and fails on, what carries the cluster's label
	docker := testenv.Docker(t)
	endpoint := e.startServer("--cleanup-wait", "1s")
	berth := func(args ...string) ([]byte, error) {
		cmd := exec.Command(e.bin, append(args, "--endpoint", endpoint, "--cluster", e.cluster)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Logf("berth %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out, err
	}
	if out, err := exec.Command(e.bin, "cluster", "create", e.cluster, "--endpoint", endpoint).CombinedOutput(); err != nil {
		t.Fatalf("cluster create: %v\n%s", err, out)
	}

	out, err := berth("compare", filepath.Join("..", "..", "examples", "fargate-web.json"), "--count", "2", "--ec2-bridge", "--instance-type", "t3.medium", "-o", "json")
	if err != nil {
		t.Fatal("berth compare failed")
	}
	var got comparison
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if len(got.LaunchTypes) != 2 || got.Definition != "fargate-web:1" || got.EC2Definition != "fargate-web-ec2:1" {
		t.Fatalf("comparison: %s", out)
	}
	fargateSide, ec2Side := got.LaunchTypes[0], got.LaunchTypes[1]
	vpc := netip.MustParsePrefix("172.31.0.0/16")
	addresses := map[string]bool{}
	for _, task := range fargateSide.Tasks {
		addr, err := netip.ParseAddr(task.Address)
		if err != nil || !vpc.Contains(addr) || addresses[task.Address] {
			t.Errorf("Fargate task %s: address %q, want one of its own in %s", task.TaskArn, task.Address, vpc)
		}
		addresses[task.Address] = true
		l := task.Limits
		if l == nil || l.TaskCgroup == nil || l.TaskCgroup.CPUQuotaMicros*4 != l.TaskCgroup.CPUPeriodMicros || l.TaskCgroup.MemoryLimitBytes != 512<<20 ||
			l.CgroupParent != "/ecs/"+lastSegment(task.TaskArn) {
			t.Errorf("Fargate task %s: limits %+v, want a task cgroup of 0.25 CPU and 512 MiB", task.TaskArn, l)
		} else if c := l.Containers[0]; c.MemoryBytes != 0 || c.EffectiveMemoryLimitBytes != 512<<20 {
			t.Errorf("Fargate task %s: container limits %+v, want none of its own, bound by the task's 512 MiB", task.TaskArn, c)
		}
	}
	var shared string
	for _, task := range ec2Side.Tasks {
		if len(task.Ports) != 1 || strings.Contains(task.Ports[0], ":8080->") || !strings.HasSuffix(task.Ports[0], "->8080/tcp") {
			t.Errorf("EC2 task %s: ports %q, want a dynamic host port to 8080", task.TaskArn, task.Ports)
		}
		if shared != "" && task.Address != shared {
			t.Errorf("EC2 tasks at %s and %s: want the instance's one address", shared, task.Address)
		}
		shared = task.Address
		l := task.Limits
		if l == nil || l.TaskCgroup != nil || !strings.HasPrefix(l.CgroupParent, "/berth/") || len(l.Containers) != 1 {
			t.Errorf("EC2 task %s: limits %+v, want no task cgroup, in its instance's slice", task.TaskArn, l)
		} else if c := l.Containers[0]; c.CPUShares != 256 || c.MemoryReservationBytes != 512<<20 || c.MemoryBytes != 0 {
			t.Errorf("EC2 task %s: container limits %+v, want 256 shares and a soft limit of 512 MiB", task.TaskArn, c)
		}
	}
	if fargateSide.Running != 2 || ec2Side.Running != 2 || fargateSide.TimeToRunning.MinSeconds <= 0 || ec2Side.TimeToRunning.MinSeconds <= 0 {
		t.Errorf("running %d and %d, times %+v and %+v", fargateSide.Running, ec2Side.Running, fargateSide.TimeToRunning, ec2Side.TimeToRunning)
	}
	// The server's own Fargate tasks are the comparison's two, a quarter
	// vCPU and 512 MiB each, of the default quota of 6.
	if q := fargateSide.FargateQuota; q == nil || *q != (fargateQuota{VCPUsInUse: 0.5, VCPULimit: 6, VCPUsLeft: 5.5, MiBInUse: 1024}) {
		t.Errorf("the Fargate quota while the tasks ran: %+v, want 0.5 of 6 vCPUs in use and 1024 MiB", q)
	}
	if len(ec2Side.Instances) != 1 || !ec2Side.Instances[0].Temporary || ec2Side.Instances[0].InstanceType != "t3.medium" ||
		ec2Side.Instances[0].RegisteredCPU-ec2Side.Instances[0].RemainingCPU != 2*256 {
		t.Errorf("instances %+v: want the temporary t3.medium, holding 2 × 256 CPU units", ec2Side.Instances)
	}
	// Two 0.25 vCPU, 0.5 GB tasks, and an hour of a t3.medium, at berth's
	// default prices.
	if fargateSide.CostPerHour == nil || *fargateSide.CostPerHour != round6(2*(0.25*0.04048+0.5*0.004445)) || ec2Side.CostPerHour == nil || *ec2Side.CostPerHour != 0.0416 {
		t.Errorf("cost an hour: %v and %v", fargateSide.CostPerHour, ec2Side.CostPerHour)
	}

	// Nothing is left: no task running, no instance, no container.
	var running []api.Task
	if out, err := berth("task", "list", "-o", "json"); err != nil || json.Unmarshal(out, &running) != nil || len(running) != 0 {
		t.Errorf("tasks running after compare: %s", out)
	}
	var instances []api.ContainerInstance
	if out, err := berth("instance", "list", "-o", "json"); err != nil || json.Unmarshal(out, &instances) != nil || len(instances) != 0 {
		t.Errorf("instances after compare: %s", out)
	}
	waitContainersGone(t, docker, "com.amazonaws.ecs.cluster="+e.cluster)
}

// startServer starts the built berth server on a free loopback port with
// the env's state directory and args, stops it when the test ends (before
// the env's own cleanup), and returns its URL.
func (e *runEnv) startServer(args ...string) string {
	e.t.Helper()
	testenv.HoldVPC(e.t, testenv.Docker(e.t))
	srv := exec.Command(e.bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", e.stateDir}, args...)...)
	w := e.start(srv)
	e.t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		e.ended(srv, w)
	})
	w.waitFor(e.t, "listening on http://")
	line := w.String()
	return strings.Fields(line[strings.Index(line, "http://"):])[0]
}
