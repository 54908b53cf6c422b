package store

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"
)

// toldWatcher writes down what it is told.
type toldWatcher struct{ told []string }

func (w *toldWatcher) TasksChanged(changes []TaskChange) {
	var line []string
	for _, ch := range changes {
		what := ""
		switch {
		case ch.Gone:
			what = "gone "
		case ch.Created:
			what = "new "
		}
		line = append(line, fmt.Sprintf("%s%s/%s %s v%d body=%s", what, ch.Task.Cluster, ch.Task.ID, ch.Task.LastStatus, ch.Task.Version, ch.Task.Body))
	}
	w.told = append(w.told, strings.Join(line, ", "))
}

func (w *toldWatcher) TasksUnsure() { w.told = append(w.told, "unsure") }

// A watcher is told of each transaction that writes tasks, once, with
// what it wrote (whole, body included): a batch created, a change, the
// forgetting of the tasks that were there (each as it was stored). A refused change, a refused
// batch and the forgetting of a task not stored tell it nothing, and once
// it stops watching it is told nothing more.
func TestAWatcherIsToldWhatEachTransactionWroteOfTheTasks(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	w := &toldWatcher{}
	stop := s.WatchTasks(w)
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "1", LastStatus: "PROVISIONING", Body: []byte(`{"x":1}`)}, {Cluster: "a", ID: "2", LastStatus: "PENDING"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "3"}, {Cluster: "a", ID: "1"}}); !errors.Is(err, ErrTaskExists) {
		t.Fatalf("a task stored twice: %v", err)
	}
	if _, err := s.UpdateTask("a", "1", func(t *Task) error { t.LastStatus = "RUNNING"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateTask("a", "2", func(*Task) error { return errors.New("no") }); err == nil {
		t.Fatal("a refused change was stored")
	}
	if _, err := s.UpdateTask("a", "2", func(t *Task) error { t.LastStatus, t.Body = "STOPPED", []byte(`{"y":2}`); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTasks("a", "2", "never-stored"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTasks("a", "never-stored"); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := s.DeleteTasks("a", "1"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`new a/1 PROVISIONING v1 body={"x":1}, new a/2 PENDING v1 body=`,
		`a/1 RUNNING v2 body={"x":1}`,
		`a/2 STOPPED v2 body={"y":2}`,
		`gone a/2 STOPPED v2 body={"y":2}`,
	}
	if strings.Join(w.told, "\n") != strings.Join(want, "\n") {
		t.Errorf("told:\n%s\nwant:\n%s", strings.Join(w.told, "\n"), strings.Join(want, "\n"))
	}
}

// ReadTasksAlone gives every task of every cluster, whole, in key order.
func TestReadTasksAloneGivesEveryTaskWhole(t *testing.T) {
	s := openTemp(t)
	for _, name := range []string{"a", "b"} {
		if _, _, err := s.CreateCluster(Cluster{Name: name}, time.Unix(1700000000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTasks([]Task{{Cluster: "b", ID: "1", Body: []byte(`{"b":1}`)}, {Cluster: "a", ID: "2", Body: []byte(`{"a":2}`)}, {Cluster: "a", ID: "1"}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.ReadTasksAlone(func(tasks iter.Seq[Task]) {
		for t := range tasks {
			got = append(got, fmt.Sprintf("%s/%s %s", t.Cluster, t.ID, t.Body))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if want := `a/1 ,a/2 {"a":2},b/1 {"b":1}`; strings.Join(got, ",") != want {
		t.Errorf("read %q, want %q", strings.Join(got, ","), want)
	}
}

// UpdateTasks makes its changes in one transaction, in order, each as
// UpdateTask makes one: a task changed twice moves on twice, a refused
// change and a task not stored are their updates' own errors, and the
// watchers hear of the transaction once, every change in order. A
// transaction that fails stores nothing of it, however many changes came
// before the one that failed, and tells the watchers nothing.
func TestUpdateTasksMakesEachChangeInOneTransaction(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "1", LastStatus: "PENDING"}, {Cluster: "a", ID: "2", LastStatus: "PENDING"}}); err != nil {
		t.Fatal(err)
	}
	w := &toldWatcher{}
	defer s.WatchTasks(w)()
	to := func(status string) func(*Task) error {
		return func(t *Task) error { t.LastStatus = status; return nil }
	}
	refused := errors.New("no")
	tasks, errs, err := s.UpdateTasks([]TaskUpdate{
		{"a", "1", to("RUNNING")},
		{"a", "2", func(t *Task) error { t.LastStatus = "RUNNING"; return refused }},
		{"a", "9", to("RUNNING")},
		{"a", "1", to("STOPPED")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tasks[0].Version != 2 || tasks[0].LastStatus != "RUNNING" || tasks[3].Version != 3 || tasks[3].LastStatus != "STOPPED" {
		t.Errorf("written: %+v", tasks)
	}
	if errs[0] != nil || !errors.Is(errs[1], refused) || !errors.Is(errs[2], ErrNotFound) || errs[3] != nil {
		t.Errorf("errors: %v", errs)
	}
	if two, _ := s.Task("a", "2"); two.Version != 1 || two.LastStatus != "PENDING" {
		t.Errorf("a refused change was stored: %+v", two)
	}

	// A change whose task cannot be written fails the transaction, after
	// one that could.
	_, _, err = s.UpdateTasks([]TaskUpdate{
		{"a", "2", to("RUNNING")},
		{"a", "1", func(t *Task) error { t.Runtime = []byte("{"); return nil }},
	})
	if err == nil {
		t.Fatal("a task that cannot be written was stored")
	}
	for id, want := range map[string]int64{"1": 3, "2": 1} {
		if got, _ := s.Task("a", id); got.Version != want {
			t.Errorf("task %s after a failed transaction: version %d, want %d", id, got.Version, want)
		}
	}
	want := []string{`a/1 RUNNING v2 body=, a/1 STOPPED v3 body=`}
	if strings.Join(w.told, "\n") != strings.Join(want, "\n") {
		t.Errorf("told:\n%s\nwant:\n%s", strings.Join(w.told, "\n"), strings.Join(want, "\n"))
	}
}
