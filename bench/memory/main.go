// Command memory measures what berth server holds in memory for the tasks
// its store keeps: the same server with 10,000 tasks stored and with none,
// in one run. For each it fills a state directory, then
//
//   - runs the real `berth server` on it, drives it as a client would (every
//     task listed and described, /metrics scraped) and reads the process's
//     resident set (VmRSS) at start and after the workload;
//   - serves the same state in this process (the server, the controller and
//     its metrics as `berth server` wires them), drives it the same way and
//     reads the heap in use after a garbage collection.
//
// It prints a Markdown table with the difference per stored task.
//
//	go build -o /tmp/berth ./cmd/berth && go run ./bench/memory -berth /tmp/berth -tasks 10000
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
)

func main() {
	berth := flag.String("berth", "", "the berth binary to run as the server")
	tasks := flag.Int("tasks", 10_000, "tasks stored")
	randomIDs := flag.Bool("random-ids", false, "give the tasks random IDs, as the controller does, so they are stored in no order (else in ID order)")
	flag.Parse()
	if *berth == "" {
		fmt.Fprintln(os.Stderr, "memory: -berth is required")
		os.Exit(2)
	}
	if err := run(*berth, *tasks, *randomIDs); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

// measure is what one variant measured.
type measure struct {
	rssStart, rssAfter resident // of the berth server process
	heap               int64    // bytes in use after GC, in process
}

func run(berth string, n int, randomIDs bool) error {
	work, err := os.MkdirTemp("", "berth-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var results [2]measure
	var sizes [2]int64
	for i, count := range []int{0, n} {
		dir := filepath.Join(work, strconv.Itoa(count))
		if err := fill(dir, count, randomIDs); err != nil {
			return fmt.Errorf("fill %d tasks: %w", count, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "state.db")); err == nil {
			sizes[i] = fi.Size()
		}
		if results[i].rssStart, results[i].rssAfter, err = processRSS(berth, dir); err != nil {
			return fmt.Errorf("berth server with %d tasks: %w", count, err)
		}
		if results[i].heap, err = inProcessHeap(dir); err != nil {
			return fmt.Errorf("in process with %d tasks: %w", count, err)
		}
	}
	empty, full := results[0], results[1]
	per := func(a, b int64) string { return fmt.Sprintf("%.0f B", float64(b-a)/float64(n)) }
	fmt.Printf("| measure | empty store | %d tasks stored | per stored task |\n|---|---:|---:|---:|\n", n)
	row := func(name string, a, b int64) {
		fmt.Printf("| %s | %s | %s | %s |\n", name, mib(a), mib(b), per(a, b))
	}
	row("heap in use after GC (in process)", empty.heap, full.heap)
	row("berth server RSS at start", empty.rssStart.total, full.rssStart.total)
	row("berth server RSS after the workload", empty.rssAfter.total, full.rssAfter.total)
	row("… of which anonymous (the server's own memory)", empty.rssAfter.anon, full.rssAfter.anon)
	row("… of which file-backed (state.db pages bbolt maps)", empty.rssAfter.file, full.rssAfter.file)
	row("state.db on disk", sizes[0], sizes[1])
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// fill makes a state directory whose store holds a cluster and n STOPPED
// two-container Fargate tasks, stopped a minute ago (so kept, as ECS keeps
// a stopped task for an hour), each recorded as the controller records one.
// Their IDs count up, so that they are written in key order, 1,000 a
// transaction; or with randomIDs they are random, as the controller's are,
// and written 10 a transaction, as RunTask writes at most, so that each
// transaction lands among the keys written before.
func fill(dir string, n int, randomIDs bool) error {
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	stopped := now.Add(-time.Minute)
	if _, _, err := st.CreateCluster(store.Cluster{Name: "bench"}, now); err != nil {
		return err
	}
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	var batch []store.Task
	batchSize := 1000
	if randomIDs {
		batchSize = 10
	}
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		if randomIDs {
			id = api.NewID()
		}
		arn := namer.Task("bench", id)
		exit := int32(0)
		t := api.Task{TaskArn: arn, ClusterArn: namer.Cluster("bench"), LastStatus: "STOPPED", DesiredStatus: "STOPPED",
			LaunchType: "FARGATE", CapacityProviderName: "FARGATE", CPU: "256", Memory: "512", Group: "family:web", Version: 9,
			AvailabilityZone: "us-east-1a", TaskDefinitionArn: namer.TaskDefinition("web", 1), PlatformVersion: "1.4.0", PlatformFamily: "Linux",
			CreatedAt: api.Time(stopped), StartedAt: api.Time(stopped), PullStartedAt: api.Time(stopped), PullStoppedAt: api.Time(stopped),
			StoppingAt: api.Time(stopped), ExecutionStoppedAt: api.Time(stopped), StoppedAt: api.Time(stopped),
			StopCode: api.StopCodeUserInitiated, StoppedReason: "Task stopped by user", Connectivity: "CONNECTED", ConnectivityAt: api.Time(stopped),
			EphemeralStorage: &api.EphemeralStorage{SizeInGiB: 20}, Overrides: &api.TaskOverride{ContainerOverrides: []api.ContainerOverride{}},
			Attachments: []api.Attachment{{ID: "2f1c5e0a-1b2c-4d3e-8f4a-5b6c7d8e9f00", Type: "ElasticNetworkInterface", Status: "DELETED", Details: []api.KeyValuePair{
				{Name: "subnetId", Value: "subnet-0123456789abcdef0"}, {Name: "networkInterfaceId", Value: "eni-00000000000000001"},
				{Name: "macAddress", Value: "0a:00:00:00:00:01"}, {Name: "privateDnsName", Value: "ip-172-31-0-4.ec2.internal"},
				{Name: "privateIPv4Address", Value: "172.31.0.4"}}}},
			Containers: []api.Container{
				{ContainerArn: namer.Container("bench", id, id), Name: "web", Image: "berth/demo:latest", LastStatus: "STOPPED", ExitCode: &exit,
					RuntimeID: id + id, HealthStatus: "UNKNOWN", TaskArn: arn, CPU: "0"},
				{ContainerArn: namer.Container("bench", id, id), Name: "sidecar", Image: "berth/demo:latest", LastStatus: "STOPPED", ExitCode: &exit,
					RuntimeID: id + id, HealthStatus: "UNKNOWN", TaskArn: arn, CPU: "0"},
			}}
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		rt, _ := json.Marshal(map[string]any{"group": "family:web", "capacity": "FARGATE", "cpu": 256, "memoryMiB": 512,
			"address": "172.31.0.4", "subnet": "subnet-0123456789abcdef0", "zone": "us-east-1a", "eni": "eni-00000000000000001"})
		batch = append(batch, store.Task{Cluster: "bench", ID: id, Family: "web", LaunchType: "FARGATE", LastStatus: "STOPPED",
			DesiredStatus: "STOPPED", CreatedAt: stopped, StatusSince: stopped, StoppedAt: &stopped, Version: 9, Body: body, Runtime: rt})
		if len(batch) == batchSize {
			if err := st.CreateTasks(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	return st.CreateTasks(batch)
}

// workload drives a server as a client would: every stopped task listed
// (pages of 100) and described (100 at a time), and /metrics scraped twice.
func workload(base string) error {
	if err := apiWorkload(base); err != nil {
		return err
	}
	return scrape(base)
}

// apiWorkload lists every stopped task (pages of 100) and describes them
// (100 at a time).
func apiWorkload(base string) error {
	var arns []string
	token := ""
	for {
		var page api.ListTasksOutput
		in := map[string]any{"cluster": "bench", "desiredStatus": "STOPPED", "maxResults": 100}
		if token != "" {
			in["nextToken"] = token
		}
		if err := call(base, "ListTasks", in, &page); err != nil {
			return err
		}
		arns = append(arns, page.TaskArns...)
		if token = page.NextToken; token == "" {
			break
		}
	}
	for i := 0; i < len(arns); i += 100 {
		var out api.DescribeTasksOutput
		if err := call(base, "DescribeTasks", map[string]any{"cluster": "bench", "tasks": arns[i:min(i+100, len(arns))]}, &out); err != nil {
			return err
		}
		if len(out.Tasks) != min(100, len(arns)-i) {
			return fmt.Errorf("DescribeTasks: %d tasks, %d failures", len(out.Tasks), len(out.Failures))
		}
	}
	http.DefaultClient.CloseIdleConnections()
	return nil
}

// scrape reads /metrics twice, as Prometheus would.
func scrape(base string) error {
	for range 2 {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	return nil
}

func call(base, op string, in, out any) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", api.ContentType)
	req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", op, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// processRSS runs berth server on dir and reads its resident set once it
// listens and after the workload.
func processRSS(berth, dir string) (atStart, after resident, err error) {
	cmd := exec.Command(berth, "server", "--listen", "127.0.0.1:0", "--state", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return resident{}, resident{}, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return resident{}, resident{}, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	base := ""
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
			base, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if base == "" {
		return resident{}, resident{}, fmt.Errorf("berth server said nowhere where it listens: %s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	// The server takes its stored tasks up right after it listens.
	if err := waitHealthy(base); err != nil {
		return resident{}, resident{}, err
	}
	pid := cmd.Process.Pid
	if atStart, err = rss(pid); err != nil {
		return resident{}, resident{}, err
	}
	if err := workload(base); err != nil {
		return resident{}, resident{}, err
	}
	after, err = rss(pid)
	return atStart, after, err
}

func waitHealthy(base string) error {
	for range 100 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s does not answer", base)
}

// resident is a process's resident set: its own memory (anonymous) and
// the pages of files it maps (the state file, which bbolt maps), in bytes.
type resident struct{ total, anon, file int64 }

// rss reads the resident set of process pid.
func rss(pid int) (resident, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return resident{}, err
	}
	var r resident
	fields := map[string]*int64{"VmRSS:": &r.total, "RssAnon:": &r.anon, "RssFile:": &r.file}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, _ := strings.Cut(line, "\t")
		if dst, ok := fields[name]; ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			if err != nil {
				return resident{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, line, err)
			}
			*dst = kb << 10
		}
	}
	if r.total == 0 {
		return resident{}, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return r, nil
}

// inProcessHeap serves dir in this process, wired as berth server wires
// it, runs the workload and returns the heap in use after a collection,
// with the server still up.
func inProcessHeap(dir string) (int64, error) {
	m := metrics.New(nil, controller.MetricLabels())
	var ctl *controller.Controller
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   "127.0.0.1:0",
		StateDir: dir,
		Registry: m.Registry,
		NewAPI: func(st *store.Store) http.Handler {
			ctl = controller.New(st, controller.Options{Metrics: m})
			m.Watch(ctl.MetricsState())
			mux := api.NewMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctl.Register(mux)
			return m.InstrumentAPI(mux)
		},
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		srv.Shutdown(shutdown)
		ctl.Close()
	}()
	if err := ctl.Start(ctx); err != nil {
		return 0, err
	}
	if err := workload("http://" + srv.Addr()); err != nil {
		return 0, err
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), nil
}
