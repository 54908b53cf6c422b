package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// reportsStore is a store at path with cluster "c" and the tasks named,
// PROVISIONING, each with one container; those with a network interface
// of their own carry its attachment.
func reportsStore(t *testing.T, path string, ids []string, eni func(id string) bool) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 0).UTC()
	if _, _, err := st.CreateCluster(store.Cluster{Name: "c"}, created); err != nil {
		t.Fatal(err)
	}
	namer := api.Namer{Region: DefaultRegion, AccountID: DefaultAccountID}
	var recs []store.Task
	for _, id := range ids {
		task := api.Task{TaskArn: namer.Task("c", id), LastStatus: "PROVISIONING", DesiredStatus: "RUNNING",
			Containers: []api.Container{{Name: "app", LastStatus: "PENDING"}}}
		if eni(id) {
			task.Attachments = []api.Attachment{{ID: id, Type: attachmentENI, Status: "PRECREATED"}}
		}
		body, err := json.Marshal(task)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, store.Task{Cluster: "c", ID: id, LastStatus: "PROVISIONING", DesiredStatus: "RUNNING", CreatedAt: created, Body: body})
	}
	if err := st.CreateTasks(recs); err != nil {
		t.Fatal(err)
	}
	return st
}

// lifeReports is what an agent reports of a task from its start to its
// cleanup, a report that changes nothing the API shows among them.
func lifeReports(arn string) []agent.TaskState {
	at := time.Unix(1700000100, 0).UTC()
	exit := 0
	report := func(task agent.TaskStatus, ctr agent.ContainerStatus, change func(*agent.TaskState)) agent.TaskState {
		s := agent.TaskState{ARN: arn, LastStatus: task, DesiredStatus: agent.TaskRunning,
			Containers: []agent.ContainerState{{Name: "app", LastStatus: ctr}}}
		if change != nil {
			change(&s)
		}
		return s
	}
	return []agent.TaskState{
		report(agent.TaskPending, agent.ContainerPending, nil),
		report(agent.TaskPending, agent.ContainerCreated, func(s *agent.TaskState) { s.Containers[0].DockerID = "d-" + arn }),
		report(agent.TaskPending, agent.ContainerCreated, func(s *agent.TaskState) { s.Containers[0].DockerID = "d-" + arn }),
		report(agent.TaskRunning, agent.ContainerRunning, func(s *agent.TaskState) {
			s.Containers[0].DockerID, s.StartedAt = "d-"+arn, at
		}),
		report(agent.TaskStopping, agent.ContainerRunning, func(s *agent.TaskState) {
			s.Containers[0].DockerID, s.StartedAt, s.StoppingAt, s.DesiredStatus = "d-"+arn, at, at, agent.TaskStopped
		}),
		report(agent.TaskStopped, agent.ContainerStopped, func(s *agent.TaskState) {
			s.Containers[0].DockerID, s.Containers[0].ExitCode = "d-"+arn, &exit
			s.StartedAt, s.StoppingAt, s.StoppedAt, s.DesiredStatus = at, at, at, agent.TaskStopped
			s.StopCode, s.StoppedReason = agent.StopEssentialContainerExited, "Essential container in task exited"
		}),
		report(agent.TaskDeleted, agent.ContainerStopped, nil),
	}
}

// taskEvents are the statuses and versions of each task's events, in the
// order they were sent, by task ARN.
func taskEvents(t *testing.T, c *Controller) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := c.Events(context.Background(), time.Time{}, false, func(e api.Event) error {
		var task api.TaskStateChange
		if err := json.Unmarshal(e.Detail, &task); err != nil {
			return err
		}
		out[task.TaskArn] = append(out[task.TaskArn], fmt.Sprintf("%s v%d", task.LastStatus, task.Version))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// transactionTasks counts, for each transaction that wrote tasks, how many
// tasks it wrote.
type transactionTasks struct {
	mu     sync.Mutex
	counts []int
}

func (w *transactionTasks) TasksChanged(changes []store.TaskChange) {
	ids := map[string]bool{}
	for _, ch := range changes {
		ids[ch.Task.ID] = true
	}
	w.mu.Lock()
	w.counts = append(w.counts, len(ids))
	w.mu.Unlock()
}

func (w *transactionTasks) TasksUnsure() {}

// Agents that report their tasks all at once, each its own tasks in
// order, several reports at a time (of one task or of several) or one, leave each task's record as
// the same reports, recorded one by one, leave it: every step its own
// version and event, in order (ACTIVATING and DEACTIVATING included),
// nothing for a report that changes nothing. Reports of several tasks
// share transactions.
func TestConcurrentReportsEndAsTheReportsRecordedOneByOne(t *testing.T) {
	const agents, tasksEach = 8, 6
	var ids []string
	for i := range agents * tasksEach {
		ids = append(ids, fmt.Sprintf("%032x", i))
	}
	eni := func(id string) bool { return id[len(id)-1]%2 == 0 }
	clock := func() time.Time { return time.Unix(1700000200, 0) }
	namer := api.Namer{Region: DefaultRegion, AccountID: DefaultAccountID}

	concurrent := reportsStore(t, filepath.Join(t.TempDir(), "state.db"), ids, eni)
	defer concurrent.Close()
	c := New(concurrent, Options{Now: clock, Logf: t.Logf})
	defer c.Close()
	txns := &transactionTasks{}
	defer concurrent.WatchTasks(txns)()
	var wg sync.WaitGroup
	for g := range agents {
		wg.Go(func() {
			mine := ids[g*tasksEach : (g+1)*tasksEach]
			var all []agent.TaskState
			lives := make([][]agent.TaskState, len(mine))
			for i, id := range mine {
				lives[i] = lifeReports(namer.Task("c", id))
			}
			// Each agent its own way: its tasks step by step, or each
			// from start to end; one report at a time, two, three.
			if g%2 == 0 {
				for step := range lives[0] {
					for i := range mine {
						all = append(all, lives[i][step])
					}
				}
			} else {
				all = slices.Concat(lives...)
			}
			for chunk := range slices.Chunk(all, g%3+1) {
				if err := c.observe("c", chunk...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	oneByOne := reportsStore(t, filepath.Join(t.TempDir(), "state.db"), ids, eni)
	defer oneByOne.Close()
	ref := New(oneByOne, Options{Now: clock, Logf: t.Logf})
	defer ref.Close()
	for _, id := range ids {
		for _, s := range lifeReports(namer.Task("c", id)) {
			if err := ref.observe("c", s); err != nil {
				t.Fatal(err)
			}
		}
	}

	events, want := taskEvents(t, c), taskEvents(t, ref)
	for _, id := range ids {
		got, err := concurrent.Task("c", id)
		if err != nil {
			t.Fatal(err)
		}
		one, err := oneByOne.Task("c", id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != one.Version || got.LastStatus != one.LastStatus || !got.StatusSince.Equal(one.StatusSince) || string(got.Body) != string(one.Body) {
			t.Errorf("task %s, reported concurrently: version %d, %s, %s\none by one: version %d, %s, %s",
				id, got.Version, got.LastStatus, got.Body, one.Version, one.LastStatus, one.Body)
		}
		steps := "PENDING v2, PENDING v3, RUNNING v4, STOPPING v5, STOPPED v6"
		if eni(id) {
			steps = "PENDING v2, PENDING v3, ACTIVATING v4, RUNNING v5, DEACTIVATING v6, STOPPING v7, STOPPED v8"
		}
		arn := namer.Task("c", id)
		if e := strings.Join(events[arn], ", "); e != steps || e != strings.Join(want[arn], ", ") {
			t.Errorf("task %s's events: %s\none by one: %s\nwant: %s", id, e, strings.Join(want[arn], ", "), steps)
		}
	}
	txns.mu.Lock()
	defer txns.mu.Unlock()
	if slices.Max(txns.counts) < 2 {
		t.Errorf("no transaction recorded reports of more than one task: %v", txns.counts)
	}
}

// A batch whose transaction fails fails every report of it, each with its
// error, logged; nothing of it is recorded and no event is sent.
func TestAFailedTransactionFailsEveryReportOfItsBatch(t *testing.T) {
	ids := []string{"1", "2", "3"}
	path := filepath.Join(t.TempDir(), "state.db")
	st := reportsStore(t, path, ids, func(id string) bool { return id == "2" })
	var mu sync.Mutex
	var logged []string
	c := New(st, Options{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}})
	defer c.Close()
	namer := api.Namer{Region: DefaultRegion, AccountID: DefaultAccountID}
	var batch []agent.TaskState
	for _, id := range ids {
		batch = append(batch, lifeReports(namer.Task("c", id))[3]) // RUNNING
	}
	st.Close() // every transaction fails from now on
	err := c.observe("c", batch...)
	if err == nil {
		t.Fatal("reports were recorded in a store that could not record them")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if !strings.Contains(err.Error(), "task "+id+":") {
			t.Errorf("the error does not say task %s was not recorded: %v", id, err)
		}
		if !slices.ContainsFunc(logged, func(l string) bool { return strings.Contains(l, "task "+id+":") }) {
			t.Errorf("task %s not recorded, unlogged: %q", id, logged)
		}
	}
	if events := taskEvents(t, c); len(events) != 0 {
		t.Errorf("events of reports not recorded: %v", events)
	}
	again, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for _, id := range ids {
		if rec, err := again.Task("c", id); err != nil || rec.Version != 1 || rec.LastStatus != "PROVISIONING" {
			t.Errorf("task %s after a failed batch: %+v, %v", id, rec, err)
		}
	}
}
