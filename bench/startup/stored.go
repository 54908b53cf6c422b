package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// storedCluster holds the tasks of the stored-state rows.
var storedCluster = "bench-stored-" + benchRun

// fillStore writes a state store at dir/state.db holding n tasks, through
// the store's API, as a server that ran them would have left them: RUNNING
// two-container EC2 tasks on one container instance. Their containers are
// not on the engine: the server that starts on the store finds them
// vanished and stops them. (EC2 rather than Fargate: a Fargate agent needs
// berth-vpc, which other servers on the engine may hold.)
func fillStore(dir string, n int) error {
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	if _, _, err := st.CreateCluster(store.Cluster{Name: storedCluster}, now); err != nil {
		return err
	}
	inst, err := st.RegisterContainerInstance(store.ContainerInstance{Cluster: storedCluster, ID: fmt.Sprintf("%032x", 1),
		EC2InstanceID: "i-0000000000000001", AgentConnected: true, Registered: store.Resources{CPU: 1 << 30, MemoryMiB: 1 << 30}}, now)
	if err != nil {
		return err
	}
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	var batch []store.Task
	for i := range n {
		id := fmt.Sprintf("%032x", i)
		arn := namer.Task(storedCluster, id)
		t := api.Task{TaskArn: arn, ClusterArn: namer.Cluster(storedCluster), ContainerInstanceArn: namer.ContainerInstance(storedCluster, inst.ID),
			LastStatus: "RUNNING", DesiredStatus: "RUNNING", LaunchType: "EC2", Group: "family:web", Version: 5, AvailabilityZone: "us-east-1a",
			TaskDefinitionArn: namer.TaskDefinition("web", 1),
			CreatedAt:         api.Time(now), StartedAt: api.Time(now), PullStartedAt: api.Time(now), PullStoppedAt: api.Time(now),
			Containers: []api.Container{
				{Name: "web", Image: "berth/demo:latest", LastStatus: "RUNNING", RuntimeID: id + id, HealthStatus: "HEALTHY", TaskArn: arn},
				{Name: "sidecar", Image: "berth/demo:latest", LastStatus: "RUNNING", RuntimeID: id + id, HealthStatus: "UNKNOWN", TaskArn: arn},
			}}
		body, _ := json.Marshal(t)
		runtime, _ := json.Marshal(map[string]any{"group": "family:web", "capacity": inst.ID, "cpu": 256, "memoryMiB": 512})
		batch = append(batch, store.Task{Cluster: storedCluster, ID: id, Family: "web", LaunchType: "EC2", Instance: inst.ID, Group: "family:web",
			Holds: store.Resources{CPU: 256, MemoryMiB: 512}, LastStatus: "RUNNING", DesiredStatus: "RUNNING", CreatedAt: now, Version: 5,
			Body: body, Runtime: runtime})
		if len(batch) == 1000 || i == n-1 {
			if err := st.CreateTasks(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	return nil
}

// storedState is a filled store, copied afresh for each run so that every
// run starts from the same state.
type storedState struct {
	filled string // the filled state.db
	dir    string // where each run's copy goes
}

func newStoredState(root string, n int) (*storedState, error) {
	s := &storedState{filled: filepath.Join(root, "filled"), dir: filepath.Join(root, "run")}
	if err := os.MkdirAll(s.filled, 0o700); err != nil {
		return nil, err
	}
	return s, fillStore(s.filled, n)
}

// fresh copies the filled store into the run directory.
func (s *storedState) fresh() error {
	os.RemoveAll(s.dir)
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(s.filled, "state.db"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "state.db"), data, 0o600)
}

// openAlone times opening the store and reading one page of its tasks, the
// least a server that answers ListTasks must do.
func (s *storedState) openAlone(ctx context.Context) (time.Duration, error) {
	if err := s.fresh(); err != nil {
		return 0, err
	}
	return timed(func() error {
		st, err := store.Open(filepath.Join(s.dir, "state.db"))
		if err != nil {
			return err
		}
		defer st.Close()
		_, _, err = st.TaskPage(storedCluster, "", 100, nil)
		return err
	})
}

// serverStart times `berth server` on the stored state from its start to
// its first answers: GET /healthz, then a ListTasks of the cluster; with
// settled, on to a ListTasks that lists no task left to run, once the
// server has taken up the stored tasks (found them vanished, and stopped
// them).
func (s *storedState) serverStart(berthBinary string, settled bool) func(ctx context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		if err := s.fresh(); err != nil {
			return 0, err
		}
		cmd := exec.Command(berthBinary, "server", "--listen", "127.0.0.1:0", "--state", s.dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		done := make(chan struct{})
		var url string
		d, err := timed(func() error {
			if err := cmd.Start(); err != nil {
				return err
			}
			lines := bufio.NewScanner(stdout)
			for lines.Scan() {
				if addr, ok := strings.CutPrefix(lines.Text(), "berth server: listening on "); ok {
					url = strings.Fields(addr)[0]
					break
				}
			}
			go func() { io.Copy(io.Discard, stdout); cmd.Wait(); close(done) }()
			if url == "" {
				return fmt.Errorf("berth server did not start: %s", stderr.String())
			}
			if !healthy(url) {
				return fmt.Errorf("berth server: /healthz did not answer 200")
			}
			if _, err := listTasks(url, storedCluster); err != nil || !settled {
				return err
			}
			deadline := time.Now().Add(10 * time.Minute)
			for {
				n, err := listTasks(url, storedCluster)
				if err != nil || n == 0 {
					return err
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%d tasks still listed as running after 10 minutes; the server said: %s", n, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		if cmd.Process != nil {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				<-done
			}
		}
		return d, err
	}
}

// listTasks asks for the first page of a cluster's tasks whose desired
// status is RUNNING, as the AWS SDK does, and says how many it holds.
func listTasks(url, cluster string) (int, error) {
	body, _ := json.Marshal(map[string]any{"cluster": cluster, "maxResults": 100})
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListTasks")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct{ TaskArns []string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("ListTasks: %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("ListTasks: %d", resp.StatusCode)
	}
	return len(out.TaskArns), nil
}
