package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestTasksAreStoredUpdatedAndListedByCluster(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	for _, name := range []string{"a", "b"} {
		if _, _, err := s.CreateCluster(Cluster{Name: name}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "1", LastStatus: "PROVISIONING"}, {Cluster: "a", ID: "2"}, {Cluster: "b", ID: "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "3"}, {Cluster: "a", ID: "1"}}); !errors.Is(err, ErrTaskExists) {
		t.Errorf("a task stored twice: %v", err)
	}
	if _, err := s.Task("a", "3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused batch stored part of itself: %v", err)
	}
	if err := s.CreateTasks([]Task{{Cluster: "nowhere", ID: "9"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a task of a cluster that does not exist: %v", err)
	}
	got, err := s.UpdateTask("a", "1", func(t *Task) error { t.LastStatus = "RUNNING"; return nil })
	if err != nil || got.LastStatus != "RUNNING" || got.Version != 2 {
		t.Fatalf("updated: %+v, %v", got, err)
	}
	if _, err := s.UpdateTask("a", "1", func(*Task) error { return errors.New("no") }); err == nil {
		t.Error("a refused change was stored")
	}
	if again, _ := s.Task("a", "1"); again.Version != 2 {
		t.Errorf("a refused change moved the version: %+v", again)
	}
	a, _ := s.Tasks("a", nil)
	all, _ := s.Tasks("", nil)
	running, _ := s.Tasks("", func(t *Task) bool { return t.LastStatus == "RUNNING" })
	if len(a) != 2 || len(all) != 3 || len(running) != 1 {
		t.Errorf("listed %d of a, %d in all, %d running", len(a), len(all), len(running))
	}
	if err := s.DeleteTasks("a", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Task("a", "2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted task: %v", err)
	}
}

func TestAClusterWithTasksThatHaveNotStoppedIsNotDeleted(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	s.CreateCluster(Cluster{Name: "a"}, now)
	s.CreateTasks([]Task{{Cluster: "a", ID: "1", LastStatus: "RUNNING"}})
	if _, err := s.DeleteCluster("a", now); !errors.Is(err, ErrClusterHasTasks) {
		t.Fatalf("delete with a running task: %v", err)
	}
	s.UpdateTask("a", "1", func(t *Task) error { t.LastStatus = "STOPPED"; return nil })
	if _, err := s.DeleteCluster("a", now); err != nil {
		t.Errorf("delete with only a stopped task: %v", err)
	}
}

func TestEachTaskVisitsTasksWithTheirBodiesAndStopsAtAnError(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	for _, name := range []string{"a", "b"} {
		if _, _, err := s.CreateCluster(Cluster{Name: name}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "1", Body: []byte(`{"n":1}`)}, {Cluster: "a", ID: "2", Body: []byte(`{"n":2}`)}, {Cluster: "b", ID: "1", Body: []byte(`{"n":3}`)}}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if err := s.EachTask("", func(task *Task) error {
		seen = append(seen, task.Cluster+"/"+task.ID+" "+string(task.Body))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`a/1 {"n":1}`, `a/2 {"n":2}`, `b/1 {"n":3}`}; !slices.Equal(seen, want) {
		t.Errorf("visited %q, want %q", seen, want)
	}
	stop := errors.New("enough")
	n := 0
	if err := s.EachTask("a", func(*Task) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error from fn: %v after %d tasks, want it after 1", err, n)
	}
}
