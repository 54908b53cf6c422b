package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	bolt "go.etcd.io/bbolt"
)

// bodiesByPath reads the body of every task of s through each path that
// reads bodies, by path then cluster/ID.
func bodiesByPath(t *testing.T, s *Store) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	add := func(path string, task Task) {
		if out[path] == nil {
			out[path] = map[string]string{}
		}
		out[path][task.Cluster+"/"+task.ID] = string(task.Body)
	}
	all, err := s.Tasks("", nil)
	if err != nil {
		t.Fatalf("Tasks: %v", err)
	}
	for _, task := range all {
		add("Tasks", task)
		one, err := s.Task(task.Cluster, task.ID)
		if err != nil {
			t.Fatalf("Task %s: %v", task.ID, err)
		}
		add("Task", one)
		byID, err := s.TasksByID(task.Cluster, []string{task.ID})
		if err != nil {
			t.Fatalf("TasksByID %s: %v", task.ID, err)
		}
		add("TasksByID", byID[task.ID])
	}
	if err := s.EachTask("", func(task *Task) error { add("EachTask", *task); return nil }); err != nil {
		t.Fatalf("EachTask: %v", err)
	}
	if err := s.ReadTasksAlone(func(tasks iter.Seq[Task]) {
		for task := range tasks {
			add("ReadTasksAlone", task)
		}
	}); err != nil {
		t.Fatalf("ReadTasksAlone: %v", err)
	}
	return out
}

// storedBody is the body bytes the store keeps for a task.
func storedBody(t *testing.T, s *Store, cluster, id string) []byte {
	t.Helper()
	var v []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketTaskBodies).Get(storedBodyKey(tx, cluster, id)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// storedBodyKey is the key task id of cluster has its body under, as its
// stored head says.
func storedBodyKey(tx *bolt.Tx, cluster, id string) []byte {
	k := taskKey(cluster, id)
	h, err := decodeHead(new([]byte), k, tx.Bucket(bucketTasks).Get(k))
	if err != nil {
		panic(err)
	}
	return bodyKey(k, h.BodySeq)
}

// twoContainerBody is the JSON of a task about the size of a two-container
// Fargate task's, which compresses.
func twoContainerBody(id string) []byte {
	arn := "arn:aws:ecs:us-east-1:000000000000:task/a/" + id
	var containers []map[string]any
	for _, name := range []string{"web", "sidecar"} {
		containers = append(containers, map[string]any{"containerArn": "arn:aws:ecs:us-east-1:000000000000:container/a/" + id + "/" + name,
			"name": name, "image": "berth/demo:latest", "lastStatus": "STOPPED", "exitCode": 0, "runtimeId": id + id, "taskArn": arn,
			"healthStatus": "UNKNOWN", "cpu": "0"})
	}
	body, _ := json.Marshal(map[string]any{"taskArn": arn, "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/a",
		"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "launchType": "FARGATE", "cpu": "256", "memory": "512",
		"stoppedReason": "Task stopped by user", "containers": containers,
		"attachments": []map[string]any{{"id": "2f1c5e0a-1b2c-4d3e-8f4a-5b6c7d8e9f00", "type": "ElasticNetworkInterface", "status": "DELETED"}}})
	return body
}

func TestBodiesReadAsTheyWereWrittenThroughEveryPath(t *testing.T) {
	big := twoContainerBody("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name   string
		body   []byte
		packed bool // stored compressed
	}{
		{"a two-container task's body is packed", big, true},
		{"a long repetitive body is packed", []byte(`{"note":"` + strings.Repeat("ab", 40_000) + `"}`), true},
		{"a body too small to gain is kept as JSON", []byte(`{"n":1}`), false},
		{"an empty body stays empty", nil, false},
		{"a body that does not compress is kept as JSON", fmt.Appendf(nil, `{"k":%q}`, incompressible(600)), false},
	}
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i, tt := range tests {
		id := fmt.Sprint(i)
		if err := s.CreateTasks([]Task{{Cluster: "a", ID: id, Body: tt.body}}); err != nil {
			t.Fatal(err)
		}
		want["a/"+id] = string(tt.body)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := storedBody(t, s, "a", fmt.Sprint(i))
			if isPacked(stored) != tt.packed {
				t.Errorf("stored packed %v, want %v: % x", isPacked(stored), tt.packed, stored[:min(len(stored), 16)])
			}
			if tt.packed && len(stored) >= len(tt.body) {
				t.Errorf("packed to %d bytes from %d", len(stored), len(tt.body))
			}
		})
	}
	for path, got := range bodiesByPath(t, s) {
		for key, body := range want {
			if got[key] != body {
				t.Errorf("%s read %s as %.80q, want %.80q", path, key, got[key], body)
			}
		}
	}
}

// incompressible is n bytes of hex digits from a pseudo-random sequence,
// which snappy cannot shorten below the JSON.
func incompressible(n int) string {
	var b strings.Builder
	x := uint64(0x9e3779b97f4a7c15)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x", x)
	}
	return b.String()[:n]
}

func TestEachTaskLendsEachBodyWholeWhateverTheSizesBefore(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	// Sizes that shrink and grow, so the pass's buffer is reused and
	// outgrown.
	want := map[string]string{}
	for i, n := range []int{30_000, 200, 5_000, 100_000, 10} {
		id := fmt.Sprint(i)
		body := fmt.Appendf(nil, `{"id":%q,"note":%q}`, id, strings.Repeat("ab", n))
		if err := s.CreateTasks([]Task{{Cluster: "a", ID: id, Body: body}}); err != nil {
			t.Fatal(err)
		}
		want[id] = string(body)
	}
	for range 2 { // the second pass borrows the first's buffer
		n := 0
		if err := s.EachTask("a", func(task *Task) error {
			n++
			if string(task.Body) != want[task.ID] {
				t.Errorf("task %s: body of %d bytes, want %d", task.ID, len(task.Body), len(want[task.ID]))
			}
			return nil
		}); err != nil || n != len(want) {
			t.Fatalf("EachTask: %v after %d tasks", err, n)
		}
	}
}

// A store written before bodies took keys of their own holds each under
// its task's key: as JSON (before bodies were packed) or packed. It reads
// as it was written by every path; a task written again moves its body to
// a key of its own, beside those still under their tasks' keys; a task
// forgotten leaves no body behind, wherever its body was.
func TestAStoreWrittenBeforeReadsTheSame(t *testing.T) {
	for _, tc := range []struct {
		file   string
		packed bool
	}{
		{"bodies-as-json.db", false},
		{"bodies-packed-by-task-key.db", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if got := s.db.Info().PageSize; got != 4096 {
				t.Errorf("a store written with 4 KiB pages opens with pages of %d bytes", got)
			}
			older := olderStoreTasks()
			for _, task := range older {
				stored := storedBody(t, s, task.Cluster, task.ID)
				underTaskKey := bodyAt(t, s, taskKey(task.Cluster, task.ID))
				if !bytes.Equal(stored, underTaskKey) || len(task.Body) > 0 && isPacked(stored) != tc.packed {
					t.Fatalf("the file does not hold task %s's body under its key, packed %v: %.40q", task.ID, tc.packed, stored)
				}
				if body, err := unpackBody(nil, stored); err != nil || !bytes.Equal(body, task.Body) {
					t.Fatalf("task %s's stored body %.40q, %v", task.ID, body, err)
				}
			}
			check := func(t *testing.T, want []Task) {
				t.Helper()
				for path, got := range bodiesByPath(t, s) {
					if len(got) != len(want) {
						t.Errorf("%s read %d tasks, want %d", path, len(got), len(want))
					}
					for _, task := range want {
						if got[task.Cluster+"/"+task.ID] != string(task.Body) {
							t.Errorf("%s read %s/%s as %.60q, want %.60q", path, task.Cluster, task.ID, got[task.Cluster+"/"+task.ID], task.Body)
						}
					}
				}
				heads, err := s.TaskHeads("", nil)
				if err != nil {
					t.Fatal(err)
				}
				for i, h := range heads {
					w := want[i]
					if h.ID != w.ID || h.Cluster != w.Cluster || h.Version < w.Version || !h.CreatedAt.Equal(w.CreatedAt) || string(h.Runtime) != string(w.Runtime) {
						t.Errorf("head %d: %+v, want %+v", i, h, w)
					}
				}
				if n := storedBodies(t, s); n != len(want) {
					t.Errorf("%d bodies stored for %d tasks", n, len(want))
				}
			}
			t.Run("as written", func(t *testing.T) { check(t, older) })
			// A task rewritten now is stored packed under a key of its
			// own, beside those still under their tasks' keys.
			first := older[0]
			if _, err := s.UpdateTask(first.Cluster, first.ID, func(*Task) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if !isPacked(storedBody(t, s, first.Cluster, first.ID)) {
				t.Error("a task rewritten was not packed")
			}
			if v := bodyAt(t, s, taskKey(first.Cluster, first.ID)); v != nil {
				t.Errorf("a task rewritten left its body under its key: %.40q", v)
			}
			for _, task := range older {
				if packed := isPacked(headAt(t, s, task.Cluster, task.ID)); packed != (task.ID == first.ID) {
					t.Errorf("task %s's head packed: %v", task.ID, packed)
				}
			}
			t.Run("with one task rewritten", func(t *testing.T) { check(t, older) })
			// Forgotten: one rewritten, one never.
			if err := s.DeleteTasks(first.Cluster, first.ID, older[1].ID); err != nil {
				t.Fatal(err)
			}
			t.Run("with two tasks forgotten", func(t *testing.T) { check(t, older[2:]) })
		})
	}
}

// bodyAt is what the bodies' bucket holds under key.
func bodyAt(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	var v []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketTaskBodies).Get(key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// headAt is task id of cluster's head as stored.
func headAt(t *testing.T, s *Store, cluster, id string) []byte {
	t.Helper()
	var v []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketTasks).Get(taskKey(cluster, id)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// A packed head that does not decode is an error that names its task, to
// every path that reads heads, never a task read wrong.
func TestACorruptPackedHeadIsAnErrorThatNamesTheTask(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTasks([]Task{{Cluster: "a", ID: "damaged", LastStatus: "RUNNING", Instance: "i", Runtime: []byte(`{"cpu":256}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		v := bytes.Clone(tx.Bucket(bucketTasks).Get(taskKey("a", "damaged")))
		if !isPacked(v) {
			return fmt.Errorf("head stored as %.40q", v)
		}
		v[len(v)-3] ^= 0x20
		return tx.Bucket(bucketTasks).Put(taskKey("a", "damaged"), v)
	}); err != nil {
		t.Fatal(err)
	}
	reads := map[string]func() error{
		"Task":           func() error { _, err := s.Task("a", "damaged"); return err },
		"TaskHeads":      func() error { _, err := s.TaskHeads("a", nil); return err },
		"EachTask":       func() error { return s.EachTask("", func(*Task) error { return nil }) },
		"EachTaskHead":   func() error { return s.EachTaskHead(func(_, _ []byte) {}) },
		"TaskPage":       func() error { _, _, err := s.TaskPage("a", "", 10, nil); return err },
		"ReadTasksAlone": func() error { return s.ReadTasksAlone(readEvery) },
		"ContainerInstanceLoad": func() error {
			return s.db.View(func(tx *bolt.Tx) error { _, err := instanceTasksLoad(tx, "a", "i"); return err })
		},
	}
	for _, name := range slices.Sorted(maps.Keys(reads)) {
		if err := reads[name](); err == nil || !strings.Contains(err.Error(), "damaged") || !errors.Is(err, errCorruptBody) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// storedBodies counts the bodies the store holds.
func storedBodies(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketTaskBodies).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestACorruptPackedBodyIsAnErrorThatNamesTheTask(t *testing.T) {
	valid := packBody(twoContainerBody("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name   string
		stored []byte
	}{
		{"the marker alone", []byte{bodySnappy}},
		{"a checksum cut short", valid[:3]},
		{"a block cut short", valid[:len(valid)/2]},
		{"one byte changed in the middle", func() []byte {
			v := bytes.Clone(valid)
			v[len(v)/2] ^= 0x20
			return v
		}()},
		{"the checksum changed", func() []byte {
			v := bytes.Clone(valid)
			v[1] ^= 0x01
			return v
		}()},
		// Blocks whose checksum holds, damaged as a writer's bug would.
		{"a length that never ends", withChecksum([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
		{"a copy from before the start", withChecksum([]byte{0x08, 0x01 | 4<<2, 0xff})},
		{"a length far beyond what the block holds", withChecksum(snappy.Encode(nil, make([]byte, 1<<20))[:6])},
		{"a literal longer than the block", withChecksum([]byte{0x40, 0x3f << 2, 'a'})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateTasks([]Task{{Cluster: "a", ID: "1", Body: []byte(`{}`)}, {Cluster: "a", ID: "damaged", Body: []byte(`{}`)}}); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketTaskBodies).Put(storedBodyKey(tx, "a", "damaged"), tt.stored)
			}); err != nil {
				t.Fatal(err)
			}
			reads := map[string]func() error{
				"Task":           func() error { _, err := s.Task("a", "damaged"); return err },
				"Tasks":          func() error { _, err := s.Tasks("a", nil); return err },
				"TasksByID":      func() error { _, err := s.TasksByID("a", []string{"1", "damaged"}); return err },
				"EachTask":       func() error { return s.EachTask("", func(*Task) error { return nil }) },
				"ReadTasksAlone": func() error { return s.ReadTasksAlone(readEvery) },
				"UpdateTask":     func() error { _, err := s.UpdateTask("a", "damaged", func(*Task) error { return nil }); return err },
				"UpdateTasks": func() error {
					_, errs, err := s.UpdateTasks([]TaskUpdate{{Cluster: "a", ID: "damaged", Change: func(*Task) error { return nil }}})
					return cmp.Or(err, errs[0])
				},
			}
			for _, name := range slices.Sorted(maps.Keys(reads)) {
				err := reads[name]()
				if !errors.Is(err, errCorruptBody) || !strings.Contains(fmt.Sprint(err), "damaged") {
					t.Errorf("%s: %v, want a corrupt body error that names task damaged", name, err)
				}
			}
			if _, err := s.TaskHeads("a", nil); err != nil {
				t.Errorf("the heads, which hold no body: %v", err)
			}
		})
	}
}

// withChecksum is block stored as a packed body, its checksum right.
func withChecksum(block []byte) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte{bodySnappy}, crc32.Checksum(block, castagnoli)), block...)
}

func FuzzUnpackBody(f *testing.F) {
	f.Add([]byte(`{"taskArn":"arn:aws:ecs:us-east-1:000000000000:task/a/1"}`))
	f.Add(twoContainerBody("0123456789abcdef0123456789abcdef"))
	f.Add(packBody(twoContainerBody("0123456789abcdef0123456789abcdef")))
	f.Add([]byte{bodySnappy, 0xff, 0xff, 0xff, 0x0f})
	f.Add(withChecksum([]byte{0x08, 0x01 | 4<<2, 0xff}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Any stored value, and any block behind a right checksum: a
		// body or an error, never a panic nor a buffer out of proportion
		// to the value.
		for _, stored := range [][]byte{data, withChecksum(data)} {
			if body, err := unpackBody(nil, stored); err == nil && len(body) > maxBodyExpansion*len(stored) {
				t.Errorf("%d stored bytes decoded to %d", len(stored), len(body))
			}
		}
		// Any body (JSON never starts with the marker) reads back as it
		// was packed, into a buffer too small or large enough.
		if len(data) > 0 && data[0] == bodySnappy {
			return
		}
		packed := packBody(data)
		for _, dst := range [][]byte{nil, make([]byte, 0, len(data))} {
			got, err := unpackBody(dst, packed)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("packed %d bytes to %d, read back %d: %v", len(data), len(packed), len(got), err)
			}
		}
	})
}

// BenchmarkReadBodies reads the bodies of 100 of 10,000 tasks (TasksByID,
// as DescribeTasks does) and of all of them (EachTask, as a pass over the
// tasks does), stored packed and stored as JSON, as a store written before
// packing holds them, in the same run.
func BenchmarkReadBodies(b *testing.B) {
	const n = 10_000
	for _, packed := range []bool{true, false} {
		s, err := Open(filepath.Join(b.TempDir(), "state.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
			b.Fatal(err)
		}
		var ids []string
		for i := 0; i < n; i += 1000 {
			var batch []Task
			for j := i; j < i+1000; j++ {
				id := fmt.Sprintf("%032x", j)
				batch = append(batch, Task{Cluster: "a", ID: id, Body: twoContainerBody(id)})
				ids = append(ids, id)
			}
			if err := s.CreateTasks(batch); err != nil {
				b.Fatal(err)
			}
			if !packed {
				if err := s.db.Update(func(tx *bolt.Tx) error {
					for _, t := range batch {
						if err := tx.Bucket(bucketTaskBodies).Put(storedBodyKey(tx, t.Cluster, t.ID), t.Body); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
		some := make([]string, 100)
		for i := range some {
			some[i] = ids[i*97]
		}
		name := map[bool]string{true: "packed", false: "as JSON"}[packed]
		b.Run("TasksByID of 100/"+name, func(b *testing.B) {
			for b.Loop() {
				if got, err := s.TasksByID("a", some); err != nil || len(got) != len(some) {
					b.Fatal(len(got), err)
				}
			}
		})
		b.Run("EachTask of 10,000/"+name, func(b *testing.B) {
			for b.Loop() {
				if err := s.EachTask("a", func(*Task) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Bodies are stored in the order they are written, whatever their tasks'
// IDs, so that they fill the pages they are appended to: a task's body
// keeps its key while the task runs and takes the next one when it
// stops. Moved or forgotten, a task leaves one body stored or none.
func TestBodiesAreStoredInTheOrderTheirTasksWereWritten(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "a"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	ids := []string{"c", "a", "d", "b"}
	for _, id := range ids {
		if err := s.CreateTasks([]Task{{Cluster: "a", ID: id, LastStatus: "PROVISIONING", Body: twoContainerBody(id)}}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(status string) func(*Task) error {
		return func(t *Task) error { t.LastStatus, t.Body = status, twoContainerBody(t.ID+status); return nil }
	}
	steps := []struct {
		id, status string
		want       string // the tasks whose bodies the bucket holds, in key order
	}{
		{"", "", "c a d b"},
		{"d", "RUNNING", "c a d b"}, // in place
		{"a", "STOPPED", "c d b a"}, // moved after the others
		{"c", "STOPPED", "d b a c"},
		{"a", "STOPPED", "d b a c"}, // stopped already: in place
	}
	for _, step := range steps {
		if step.id != "" {
			if _, err := s.UpdateTask("a", step.id, set(step.status)); err != nil {
				t.Fatal(err)
			}
		}
		var order []string
		if err := s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTaskBodies).ForEach(func(k, v []byte) error {
				body, err := unpackBody(nil, v)
				if err != nil {
					return err
				}
				var b struct {
					TaskArn string `json:"taskArn"`
				}
				if err := json.Unmarshal(body, &b); err != nil {
					return err
				}
				id := b.TaskArn[strings.LastIndex(b.TaskArn, "/")+1:]
				order = append(order, strings.TrimRight(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(order, " "); got != step.want {
			t.Errorf("after %s %s: bodies of %s, want %s", step.id, step.status, got, step.want)
		}
	}
	if err := s.DeleteTasks("a", ids...); err != nil {
		t.Fatal(err)
	}
	if n := storedBodies(t, s); n != 0 {
		t.Errorf("%d bodies left after every task was forgotten", n)
	}
}

// A store created now has pages of pageSize, fifteen packed bodies of a
// two-container task to a page rather than three, and keeps them when it
// is opened again.
func TestANewStoreHasLargerPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.db.Info().PageSize; got != pageSize {
			t.Errorf("pages of %d bytes, want %d", got, pageSize)
		}
		s.Close()
	}
}

// A head stored now leaves out the cluster and ID its key holds, and
// every path that reads it gives them back from the key.
func TestAHeadLeavesOutWhatItsKeyHolds(t *testing.T) {
	s := openTemp(t)
	if _, _, err := s.CreateCluster(Cluster{Name: "web"}, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	id := "5f1e8a0c2b3d4e6f7a8b9c0d1e2f3a4b"
	if err := s.CreateTasks([]Task{{Cluster: "web", ID: id, Family: "web", LastStatus: "RUNNING", DesiredStatus: "RUNNING", Instance: "i"}}); err != nil {
		t.Fatal(err)
	}
	head, err := unpackBody(nil, headAt(t, s, "web", id))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(head, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["cluster"]; ok || fields["id"] != nil || fields["family"] == nil {
		t.Errorf("stored head %s", head)
	}
	got := map[string]string{}
	one, err := s.Task("web", id)
	got["Task"] = one.Cluster + "/" + one.ID
	byID, err2 := s.TasksByID("web", []string{id})
	got["TasksByID"] = byID[id].Cluster + "/" + byID[id].ID
	heads, err3 := s.TaskHeads("", nil)
	if len(heads) == 1 {
		got["TaskHeads"] = heads[0].Cluster + "/" + heads[0].ID
	}
	ids, _, err4 := s.TaskPage("web", "", 10, func(t *Task) bool { got["TaskPage"] = t.Cluster + "/" + t.ID; return true })
	err5 := s.ReadTasksAlone(func(all iter.Seq[Task]) {
		for t := range all {
			got["ReadTasksAlone"] = t.Cluster + "/" + t.ID
			break
		}
	})
	err6 := s.db.View(func(tx *bolt.Tx) error {
		return forEachTask(tx, "web", func(t Task) error { got["forEachTask"] = t.Cluster + "/" + t.ID; return nil })
	})
	if err := cmp.Or(err, err2, err3, err4, err5, err6); err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("%v, page %v", err, ids)
	}
	for _, path := range []string{"Task", "TasksByID", "TaskHeads", "TaskPage", "ReadTasksAlone", "forEachTask"} {
		if got[path] != "web/"+id {
			t.Errorf("%s read %q", path, got[path])
		}
	}
}

// readEvery ranges over every task ReadTasksAlone gives.
func readEvery(tasks iter.Seq[Task]) {
	for range tasks {
	}
}
