package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damageBody stores bytes that do not decode as the body of a task.
func damageBody(t testing.TB, s *Store, cluster, id string) {
	t.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		// A snappy value whose checksum is wrong.
		return tx.Bucket(bucketTaskBodies).Put(storedBodyKey(tx, cluster, id), []byte{bodySnappy, 0, 0, 0, 0, 1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTasksFilterSeesHeadsBeforeBodies(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, epoch); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTasks([]Task{
		{Cluster: "a", ID: "kept", Instance: "i1", LastStatus: "RUNNING", Body: twoContainerBody("kept")},
		{Cluster: "a", ID: "other", Instance: "i2", LastStatus: "RUNNING", Body: twoContainerBody("other")},
	}); err != nil {
		t.Fatal(err)
	}
	damageBody(t, s, "a", "other")
	onI1 := func(task *Task) bool {
		if task.Body != nil {
			t.Errorf("the filter saw task %s with its body", task.ID)
		}
		return task.Instance == "i1"
	}

	t.Run("a damaged body of a task the filter leaves out fails nothing", func(t *testing.T) {
		got, err := s.Tasks("a", onI1)
		if err != nil {
			t.Fatalf("Tasks: %v", err)
		}
		if len(got) != 1 || got[0].ID != "kept" || string(got[0].Body) != string(twoContainerBody("kept")) {
			t.Fatalf("Tasks kept %v, want task kept with its body", got)
		}
	})

	t.Run("a damaged body of a task the filter keeps fails the call", func(t *testing.T) {
		_, err := s.Tasks("a", func(task *Task) bool { return task.Instance == "i2" })
		if !errors.Is(err, errCorruptBody) {
			t.Fatalf("Tasks: %v, want %v", err, errCorruptBody)
		}
	})

	t.Run("the filter sees every head field", func(t *testing.T) {
		var seen []string
		if _, err := s.Tasks("", func(task *Task) bool {
			seen = append(seen, task.Cluster+"/"+task.ID+"@"+task.Instance+"/"+task.LastStatus)
			return false
		}); err != nil {
			t.Fatalf("Tasks: %v", err)
		}
		if want := []string{"a/kept@i1/RUNNING", "a/other@i2/RUNNING"}; !slices.Equal(seen, want) {
			t.Fatalf("the filter saw %v, want %v", seen, want)
		}
	})
}

// BenchmarkTasksOfInstance is what a berth agent's Hello reads of the
// store: the tasks of its instance not STOPPED, with their bodies, among
// 10,000 tasks of the cluster of which 10 are on the instance.
func BenchmarkTasksOfInstance(b *testing.B) {
	s := openTemp(b)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, epoch); err != nil {
		b.Fatal(err)
	}
	const n, mine = 10_000, 10
	var tasks []Task
	for i := range n {
		id := fmt.Sprintf("%032x", i)
		instance := fmt.Sprintf("other-%d", i%100)
		if i%(n/mine) == 0 {
			instance = "mine"
		}
		tasks = append(tasks, Task{Cluster: "a", ID: id, Family: "web", LaunchType: "EC2", LastStatus: "RUNNING",
			DesiredStatus: "RUNNING", Instance: instance, Group: "family:web", CreatedAt: epoch, StatusSince: epoch,
			Holds: Resources{CPU: 256, MemoryMiB: 512, TCPPorts: []uint16{uint16(8000 + i%1000)}},
			Body:  twoContainerBody(id), Runtime: []byte(`{"cpu":256,"memory":512}`)})
	}
	for chunk := range slices.Chunk(tasks, 1000) {
		if err := s.CreateTasks(chunk); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.Tasks("a", func(t *Task) bool { return t.Instance == "mine" && t.LastStatus != "STOPPED" })
		if err != nil || len(got) != mine {
			b.Fatalf("Tasks: %d tasks, %v; want %d", len(got), err, mine)
		}
	}
}
