package controller_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/testenv"
)

// benchWindow is how long the server's CPU is measured while the agents
// heartbeat.
const benchWindow = 30 * time.Second

// serverProcess is `berth server` in a process of its own, so that its
// CPU time is its own and not the agents'.
type serverProcess struct {
	cmd *exec.Cmd
	url string
}

func startServerProcess(b *testing.B, timeout time.Duration) *serverProcess {
	return startServerProcessAt(b, b.TempDir(), "127.0.0.1:0", timeout)
}

// startServerProcessAt starts `berth server` with the state directory dir,
// listening at listen.
func startServerProcessAt(b testing.TB, dir, listen string, timeout time.Duration) *serverProcess {
	b.Helper()
	cmd := exec.Command(testenv.BerthBinary(b), "server", "--listen", listen, "--state", dir, "--agent-timeout", timeout.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "http://"); i >= 0 {
			url := strings.Fields(sc.Text()[i:])[0]
			go func() {
				for sc.Scan() {
				}
			}()
			return &serverProcess{cmd: cmd, url: url}
		}
	}
	b.Fatal("berth server did not say where it listens")
	return nil
}

// cpu is the CPU time the server's threads have had, from the
// scheduler's own count (nanoseconds, not the clock ticks of
// /proc/PID/stat).
func (s *serverProcess) cpu(b testing.TB) time.Duration {
	b.Helper()
	dir := fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid)
	threads, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, th := range threads {
		data, err := os.ReadFile(filepath.Join(dir, th.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		ns, _ := strconv.ParseInt(strings.Fields(string(data))[0], 10, 64)
		total += time.Duration(ns)
	}
	return total
}

func (s *serverProcess) call(b testing.TB, op string, in, out any) {
	b.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		b.Fatalf("%s: %d %v", op, resp.StatusCode, e)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Fatal(err)
		}
	}
}

// connected counts the cluster's instances whose agent is connected.
func (s *serverProcess) connected(b testing.TB, cluster string) int {
	b.Helper()
	var list api.ListContainerInstancesOutput
	s.call(b, "ListContainerInstances", api.ListContainerInstancesInput{Cluster: cluster, Filter: "agentConnected == true"}, &list)
	return len(list.ContainerInstanceArns)
}

// floodHeartbeats connects n agents more to the server, in a cluster of
// their own, each of which sends heartbeats back to back (up to 32 not yet
// answered) for d: the heartbeats a second the server answers, the most it
// handles from n connections, and its CPU time for each. These agents speak the protocol themselves,
// as the real agent heartbeats on its interval only.
func floodHeartbeats(b *testing.B, srv *serverProcess, n int, d time.Duration) float64 {
	b.Helper()
	const cluster, window = "flood", 32
	srv.call(b, "CreateCluster", api.CreateClusterInput{ClusterName: cluster}, nil)
	conns := make([]*agentproto.Conn, n)
	for i := range conns {
		conn, err := agentproto.Dial(context.Background(), srv.url, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		hello := agentproto.Hello{Cluster: cluster, AgentVersion: "bench", EngineAPIVersion: "1.41", Host: "bench",
			Engine: fmt.Sprintf("flood://%d", i), EngineReachable: true, Tasks: []agentproto.TaskStatus{}}
		if err := conn.Write(agentproto.TypeHello, hello); err != nil {
			b.Fatal(err)
		}
		if f, err := conn.Read(); err != nil || f.Type != agentproto.TypeWelcome {
			b.Fatalf("the answer to Hello: %+v %v", f, err)
		}
		conns[i] = conn
	}
	var answered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, conn := range conns {
		credit := make(chan struct{}, window)
		for range window {
			credit <- struct{}{}
		}
		wg.Add(2)
		go func() { // sends while it has credit
			defer wg.Done()
			for {
				select {
				case <-credit:
				case <-stop:
					return
				}
				if conn.Write(agentproto.TypeHeartbeat, agentproto.HeartbeatMessage{MessageID: agentproto.NewMessageID(), EngineReachable: true}) != nil {
					return
				}
			}
		}()
		go func() { // each answer gives a credit back
			defer wg.Done()
			for {
				f, err := conn.Read()
				if err != nil {
					return
				}
				if f.Type == agentproto.TypeHeartbeatAck {
					answered.Add(1)
					select {
					case credit <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	time.Sleep(d / 5) // warm up
	from, cpu, start := answered.Load(), srv.cpu(b), time.Now()
	time.Sleep(d)
	handled := answered.Load() - from
	rate := float64(handled) / time.Since(start).Seconds()
	b.ReportMetric(float64((srv.cpu(b)-cpu).Nanoseconds())/1000/float64(max(handled, 1)), "server-cpu-µs/heartbeat-handled")
	close(stop)
	for _, conn := range conns {
		conn.Close()
	}
	wg.Wait()
	return rate
}

// One server and n berth agents (the real agent code, each over an
// engine in memory), for n = 1 and 100, with the agent timeout of the
// tests (3 s: a heartbeat a second) and the default (30 s: one every
// 10 s): the server's CPU per heartbeat interval while the agents
// heartbeat; and, with the short timeout, the time from RunTask to the
// server's record of the agent's first report, the task state changes
// a second the server records while 50 tasks start across the agents, and
// the heartbeats a second it answers from n connections that send them
// back to back.
func BenchmarkAgentsOnOneServer(b *testing.B) {
	for _, timeout := range []time.Duration{3 * time.Second, controller.DefaultAgentTimeout} {
		for _, n := range []int{1, 100} {
			b.Run(fmt.Sprintf("timeout=%s/agents=%d", timeout, n), func(b *testing.B) {
				benchAgents(b, timeout, n)
			})
		}
	}
}

func benchAgents(b *testing.B, timeout time.Duration, n int) {
	srv := startServerProcess(b, timeout)
	cluster := "bench"
	srv.call(b, "CreateCluster", api.CreateClusterInput{ClusterName: cluster}, nil)
	srv.call(b, "RegisterTaskDefinition", map[string]any{"family": "app", "containerDefinitions": []map[string]any{
		{"name": "app", "image": "example/app:1", "memory": 16}}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, n)
	b.Cleanup(func() {
		cancel()
		for range n {
			<-done
		}
	})
	for i := range n {
		eng := enginetest.New(nil)
		eng.AddImage("example/app:1", nil)
		cfg := hostagent.Config{Server: srv.url, Cluster: cluster, Docker: eng, StateDir: b.TempDir(),
			Zone: fmt.Sprintf("us-east-1%c", 'a'+i%3), Version: "bench"}
		go func() {
			hostagent.Run(ctx, cfg)
			done <- struct{}{}
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for srv.connected(b, cluster) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d agents connected", srv.connected(b, cluster), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	interval := timeout / 3
	intervals := int(benchWindow / interval)
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		before := srv.cpu(b)
		time.Sleep(benchWindow)
		cpu += srv.cpu(b) - before
	}
	b.StopTimer()
	perInterval := cpu / time.Duration(b.N*intervals)
	b.ReportMetric(float64(perInterval.Microseconds())/1000, "server-cpu-ms/interval")
	b.ReportMetric(float64(n)/interval.Seconds(), "heartbeats/s")
	if timeout != 3*time.Second {
		return
	}
	b.ReportMetric(floodHeartbeats(b, srv, n, 10*time.Second), "heartbeats-handled/s")

	// RunTask to the agent's first report, as the server records it.
	var firsts []time.Duration
	for range 10 {
		var run api.RunTaskOutput
		start := time.Now()
		srv.call(b, "RunTask", api.RunTaskInput{Cluster: cluster, TaskDefinition: "app"}, &run)
		for {
			var desc api.DescribeTasksOutput
			srv.call(b, "DescribeTasks", api.DescribeTasksInput{Cluster: cluster, Tasks: []string{run.Tasks[0].TaskArn}}, &desc)
			if desc.Tasks[0].Version > 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		firsts = append(firsts, time.Since(start))
	}
	slices.Sort(firsts)
	b.ReportMetric(float64(firsts[len(firsts)/2].Microseconds())/1000, "runtask-to-first-report-ms")

	// 50 tasks start across the agents: the state changes recorded
	// a second, from the first RunTask to the last task RUNNING.
	count := int32(10)
	var arns []string
	start := time.Now()
	for range 5 {
		var run api.RunTaskOutput
		srv.call(b, "RunTask", api.RunTaskInput{Cluster: cluster, TaskDefinition: "app", Count: &count,
			PlacementStrategy: []api.PlacementStrategy{{Type: "spread", Field: "instanceId"}}}, &run)
		for _, t := range run.Tasks {
			arns = append(arns, t.TaskArn)
		}
	}
	var changes int64
	for {
		var desc api.DescribeTasksOutput
		srv.call(b, "DescribeTasks", api.DescribeTasksInput{Cluster: cluster, Tasks: arns}, &desc)
		changes = 0
		runningAll := true
		for _, t := range desc.Tasks {
			changes += t.Version - 1
			runningAll = runningAll && t.LastStatus == "RUNNING"
		}
		if runningAll {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(changes)/time.Since(start).Seconds(), "state-changes/s")
}
