package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketTasks maps cluster + NUL + task ID to a Task record without its
// Body (storedHead), so that a cluster's tasks list under one prefix and a
// listing reads small records; bucketTaskBodies holds the Body, packed
// (taskbody.go), under a key of its own (bodyKey).
var (
	bucketTasks      = []byte("tasks")
	bucketTaskBodies = []byte("task-bodies")
)

// storedHead is a task's record as bucketTasks holds it. Its key holds
// its cluster and ID, so the record does not: Cluster and ID, left empty,
// hide the Task's from encoding/json. Stores written before hold them in
// the record as well, which reads as it did.
type storedHead struct {
	Task
	Cluster string `json:"cluster,omitempty"`
	ID      string `json:"id,omitempty"`
	// BodySeq is the key its body is stored under in bucketTaskBodies, a
	// number the bucket's sequence gave; 0 for a body stored under the
	// task's own key, as stores written before keep them.
	BodySeq uint64 `json:"bodySeq,omitempty"`
}

// Bodies are stored under keys that grow, not under the task's key: task
// IDs are random, so bodies stored by them land anywhere in the bucket,
// bbolt splits the page they land in, and the pages end about two thirds
// full. Under a growing key a body is written after the last one, and
// with bodyFill the pages fill before they split. A body keeps its key
// while its task runs, but takes a new one when its task stops: its
// final form then joins the stopped ones written before it, rather than
// grow in place in a full page, which would split it.
const bodyFill = 1.0

// bodyKey is the key a task's body is stored under: seq big-endian, or the
// task's key when seq is 0. A sequence key starts with a zero byte
// (sequences stay far below 2^56), a task key with its cluster's name,
// never so: the two never meet.
func bodyKey(taskKey []byte, seq uint64) []byte {
	if seq == 0 {
		return taskKey
	}
	return binary.BigEndian.AppendUint64(nil, seq)
}

// A head is stored packed as a body is (packBody): a store's heads are
// read whole by listings and placement, so they are mapped whole, and of
// 4 KiB pages their keys, random, leave a third empty. Packed, a head of
// about 500 bytes takes about 80 less; snappy decodes it in a fraction of
// the time its JSON then takes. A head stored as JSON, as stores written
// before keep them, reads as it did.

// headJSON is the JSON of the head stored under k as v: v itself, or v
// decoded into *buf, valid until the next call with buf.
func headJSON(buf *[]byte, k, v []byte) ([]byte, error) {
	if !isPacked(v) {
		return v, nil
	}
	j, err := unpackBody(*buf, v)
	if err != nil {
		return nil, fmt.Errorf("corrupt task record %q: %w", k, err)
	}
	*buf = j[:0]
	return j, nil
}

// decodeHead decodes a stored head; buf is headJSON's.
func decodeHead(buf *[]byte, k, v []byte) (storedHead, error) {
	j, err := headJSON(buf, k, v)
	if err != nil {
		return storedHead{}, err
	}
	var h storedHead
	if err := json.Unmarshal(j, &h); err != nil {
		return storedHead{}, fmt.Errorf("corrupt task record %q: %w", k, err)
	}
	h.Task.Cluster, h.Task.ID = keyParts(k)
	return h, nil
}

// keyParts are the cluster and ID a task's key names.
func keyParts(k []byte) (cluster, id string) {
	c, i, _ := bytes.Cut(k, []byte{0})
	return string(c), string(i)
}

// Task is one task of a cluster: the fields the store looks at and lists
// by, and the task as the controller shows it (Body, the API's shape) and
// runs it (Runtime), which the store keeps without reading.
type Task struct {
	Cluster       string `json:"cluster"`
	ID            string `json:"id"`
	Family        string `json:"family"`
	LaunchType    string `json:"launchType"`
	LastStatus    string `json:"lastStatus"`
	DesiredStatus string `json:"desiredStatus"`
	StartedBy     string `json:"startedBy,omitempty"`
	Instance      string `json:"instance,omitempty"` // the container instance ID, for EC2
	// Group is the task's group, which spread and distinctInstance count.
	Group string `json:"group,omitempty"`
	// Holds is what an EC2 task takes of its instance while it has not
	// stopped.
	Holds     Resources `json:"holds,omitzero"`
	CreatedAt time.Time `json:"createdAt"`
	// StatusSince is when the task entered its LastStatus.
	StatusSince time.Time `json:"statusSince,omitzero"`
	// StoppedAt is set once the task is STOPPED; the controller forgets it
	// a while after.
	StoppedAt *time.Time `json:"stoppedAt,omitempty"`
	// Version increases at every change.
	Version int64           `json:"version"`
	Body    json.RawMessage `json:"body,omitempty"`
	Runtime json.RawMessage `json:"runtime,omitempty"`
}

// ErrTaskExists: a task of that ID is already stored.
var ErrTaskExists = errors.New("task already exists")

func init() {
	clusterHolders = append(clusterHolders, clusterHolder{holds: clusterHasTasks, err: ErrClusterHasTasks})
	instanceLoaders = append(instanceLoaders, instanceTasksLoad)
}

// instanceTasksLoad adds up what the tasks placed on an instance hold:
// those not yet RUNNING are pending, STOPPED ones hold nothing.
func instanceTasksLoad(tx *bolt.Tx, cluster, id string) (InstanceLoad, error) {
	var load InstanceLoad
	err := forEachTask(tx, cluster, func(t Task) error {
		if t.Instance != id || t.LastStatus == "STOPPED" {
			return nil
		}
		if t.LastStatus == "RUNNING" {
			load.Running++
		} else {
			load.Pending++
		}
		load.Held.CPU += t.Holds.CPU
		load.Held.MemoryMiB += t.Holds.MemoryMiB
		load.Held.TCPPorts = append(load.Held.TCPPorts, t.Holds.TCPPorts...)
		load.Held.UDPPorts = append(load.Held.UDPPorts, t.Holds.UDPPorts...)
		return nil
	})
	return load, err
}

// forEachTask calls fn with each task of cluster.
func forEachTask(tx *bolt.Tx, cluster string, fn func(Task) error) error {
	prefix := taskKey(cluster, "")
	c := tx.Bucket(bucketTasks).Cursor()
	var buf []byte
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		h, err := decodeHead(&buf, k, v)
		if err != nil {
			return err
		}
		if err := fn(h.Task); err != nil {
			return err
		}
	}
	return nil
}

func taskKey(cluster, id string) []byte {
	return append(append([]byte(cluster), 0), id...)
}

// clusterHasTasks reports whether any task of cluster has not stopped.
func clusterHasTasks(tx *bolt.Tx, cluster string) (bool, error) {
	held := false
	err := forEachTask(tx, cluster, func(t Task) error {
		held = held || t.LastStatus != "STOPPED"
		return nil
	})
	return held, err
}

// CreateTasks stores new tasks, all or none, in one transaction. Their
// cluster must be ACTIVE.
func (s *Store) CreateTasks(tasks []Task) error {
	return s.updateTasks(func(tx *bolt.Tx, changes *[]TaskChange) error {
		return createTasks(tx, tasks, changes)
	})
}

func createTasks(tx *bolt.Tx, tasks []Task, changes *[]TaskChange) error {
	for _, t := range tasks {
		c, err := getCluster(tx, t.Cluster)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", t.Cluster, err)
		}
		if c.Status != StatusActive {
			return fmt.Errorf("cluster %s: %w", t.Cluster, ErrClusterInactive)
		}
		if tx.Bucket(bucketTasks).Get(taskKey(t.Cluster, t.ID)) != nil {
			return fmt.Errorf("task %s: %w", t.ID, ErrTaskExists)
		}
		t.Version = max(t.Version, 1)
		if err := putTask(tx, t, nil); err != nil {
			return err
		}
		*changes = append(*changes, TaskChange{Task: t, Created: true})
	}
	return nil
}

// UpdateTask changes a task in one transaction: change sees the task as
// stored and changes it in place; its version then moves on. An error from
// change changes nothing.
func (s *Store) UpdateTask(cluster, id string, change func(*Task) error) (Task, error) {
	var t Task
	err := s.updateTasks(func(tx *bolt.Tx, changes *[]TaskChange) error {
		var err error
		h, err := getStored(tx, cluster, id)
		if err != nil {
			return err
		}
		t = h.Task
		if err := change(&t); err != nil {
			return err
		}
		t.Version++
		if err := putTask(tx, t, &h); err != nil {
			return err
		}
		*changes = append(*changes, TaskChange{Task: t})
		return nil
	})
	if err != nil {
		return Task{}, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

// TaskUpdate is one change of UpdateTasks: Change sees task ID of Cluster
// as stored, as UpdateTask's change does.
type TaskUpdate struct {
	Cluster, ID string
	Change      func(*Task) error
}

// UpdateTasks makes several changes in one transaction, in order, each as
// UpdateTask makes one: its change sees the task as the changes before it
// left it, and the task's version moves on at each. An error from one
// change (ErrNotFound for a task not stored) leaves that task as it was
// and is that update's alone: errs[i] is update i's, and tasks[i] the task
// it wrote. The watchers are told of every change, in order. err is the
// transaction's: when it fails to commit, nothing of it is stored, and no
// update's task counts.
func (s *Store) UpdateTasks(updates []TaskUpdate) (tasks []Task, errs []error, err error) {
	tasks, errs = make([]Task, len(updates)), make([]error, len(updates))
	err = s.updateTasks(func(tx *bolt.Tx, changes *[]TaskChange) error {
		for i, u := range updates {
			h, err := getStored(tx, u.Cluster, u.ID)
			t := h.Task
			if err == nil {
				err = u.Change(&t)
			}
			if err != nil {
				errs[i] = fmt.Errorf("task %s: %w", u.ID, err)
				continue
			}
			t.Version++
			if err := putTask(tx, t, &h); err != nil {
				return fmt.Errorf("task %s: %w", u.ID, err)
			}
			tasks[i] = t
			*changes = append(*changes, TaskChange{Task: t})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return tasks, errs, nil
}

// Task returns one task of cluster.
func (s *Store) Task(cluster, id string) (Task, error) {
	var t Task
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = getTask(tx, cluster, id)
		return err
	})
	if err != nil {
		return Task{}, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists the tasks of cluster ("" for every cluster) that keep
// accepts (nil for all), by cluster then ID, whole. keep sees a task's
// head alone (its Body is nil): a task's body is read and unpacked only
// once keep has kept it, so a call that keeps ten tasks of ten thousand
// unpacks ten bodies, and a body that does not decode fails the call only
// if its task is kept.
func (s *Store) Tasks(cluster string, keep func(*Task) bool) ([]Task, error) {
	return s.tasks(cluster, keep, true)
}

// TaskHeads is Tasks without each task's Body: what listings read, at a
// fraction of the cost.
func (s *Store) TaskHeads(cluster string, keep func(*Task) bool) ([]Task, error) {
	return s.tasks(cluster, keep, false)
}

// EachTaskHead calls fn with the key and the JSON of each task's head (the
// record without its Body; the key holds its cluster and ID, taskKey), in
// key order (by cluster, then ID), in one read. The bytes are the store's or a buffer's, and valid only during
// the call: a reader that keeps decoded heads can compare them with what it
// decoded before and decode only the heads that changed.
func (s *Store) EachTaskHead(fn func(key, head []byte)) error {
	var buf []byte
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			j, err := headJSON(&buf, k, v)
			if err != nil {
				return err
			}
			fn(k, j)
			return nil
		})
	})
}

func (s *Store) tasks(cluster string, keep func(*Task) bool, bodies bool) ([]Task, error) {
	var out []Task
	err := s.eachTask(cluster, bodies, keep, func(t *Task) error {
		// The body is eachTask's buffer or the stored bytes; it
		// outlives the call only as a copy.
		t.Body = bytes.Clone(t.Body)
		out = append(out, *t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachTask calls fn with each task of cluster ("" for every cluster), by
// cluster then ID, in one read transaction. The task's Body is borrowed:
// the stored bytes themselves, or a buffer the pass decodes every packed
// body into in turn. fn may read it until it returns, never keep or change
// it. A pass over every task so holds one task in memory at a time, not
// all of them.
func (s *Store) EachTask(cluster string, fn func(*Task) error) error {
	return s.eachTask(cluster, true, nil, fn)
}

// eachTask calls fn with each task of cluster that keep (nil for all)
// accepts, seen with its head alone; with bodies, the body of each task
// kept is read for fn, and the others' never.
func (s *Store) eachTask(cluster string, bodies bool, keep func(*Task) bool, fn func(*Task) error) error {
	buf := borrowBodyBuffer()
	defer buf.release()
	err := s.db.View(func(tx *bolt.Tx) error {
		var prefix []byte
		if cluster != "" {
			prefix = taskKey(cluster, "")
		}
		c := tx.Bucket(bucketTasks).Cursor()
		stored := tx.Bucket(bucketTaskBodies)
		var headBuf []byte
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			h, err := decodeHead(&headBuf, k, v)
			if err != nil {
				return err
			}
			t := h.Task
			if keep != nil && !keep(&t) {
				continue
			}
			if bodies {
				body, err := buf.read(k, stored.Get(bodyKey(k, h.BodySeq)))
				if err != nil {
					return err
				}
				t.Body = body
			}
			if err := fn(&t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list tasks: %w", err)
	}
	return nil
}

// DeleteTasks forgets tasks, as ECS forgets stopped tasks a while after;
// the watchers are told of each as it was stored.
func (s *Store) DeleteTasks(cluster string, ids ...string) error {
	return s.updateTasks(func(tx *bolt.Tx, changes *[]TaskChange) error {
		for _, id := range ids {
			// The task as it goes, read in the transaction that forgets
			// it: what a watcher had summed of it. A record that does not
			// decode is forgotten all the same, its change naming it alone.
			k := taskKey(cluster, id)
			h, err := getStored(tx, cluster, id)
			switch {
			case err == nil:
				*changes = append(*changes, TaskChange{Task: h.Task, Gone: true})
			case !errors.Is(err, ErrNotFound):
				*changes = append(*changes, TaskChange{Task: Task{Cluster: cluster, ID: id}, Gone: true})
			}
			if err := tx.Bucket(bucketTasks).Delete(k); err != nil {
				return err
			}
			// Under its sequence and under the task's key, which a body
			// stored before sequences may still hold.
			for _, bk := range [][]byte{bodyKey(k, h.BodySeq), k} {
				if err := tx.Bucket(bucketTaskBodies).Delete(bk); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func getTask(tx *bolt.Tx, cluster, id string) (Task, error) {
	h, err := getStored(tx, cluster, id)
	return h.Task, err
}

// getStored is getTask with where its body is stored.
func getStored(tx *bolt.Tx, cluster, id string) (storedHead, error) {
	k := taskKey(cluster, id)
	v := tx.Bucket(bucketTasks).Get(k)
	if v == nil {
		return storedHead{}, ErrNotFound
	}
	h, err := decodeHead(new([]byte), k, v)
	if err != nil {
		return storedHead{}, err
	}
	h.Task, err = withBody(tx, k, h)
	if err != nil {
		return storedHead{}, err
	}
	return h, nil
}

// withBody is a task's record with its Body: decoded, or a copy of the
// stored bytes, as they outlive the transaction.
func withBody(tx *bolt.Tx, key []byte, h storedHead) (Task, error) {
	t := h.Task
	v := tx.Bucket(bucketTaskBodies).Get(bodyKey(key, h.BodySeq))
	if v == nil {
		return t, nil
	}
	body, err := readBody(nil, key, v)
	if err != nil {
		return Task{}, err
	}
	if isPacked(v) {
		t.Body = body
	} else {
		t.Body = bytes.Clone(body)
	}
	return t, nil
}

// putTask stores t, a new task or, when prev is set, one stored as prev.
func putTask(tx *bolt.Tx, t Task, prev *storedHead) error {
	k := taskKey(t.Cluster, t.ID)
	bodies := tx.Bucket(bucketTaskBodies)
	bodies.FillPercent = bodyFill
	h := storedHead{Task: t}
	h.Body = nil
	if prev != nil {
		h.BodySeq = prev.BodySeq
	}
	if h.BodySeq == 0 || t.LastStatus == "STOPPED" && prev.LastStatus != "STOPPED" {
		seq, err := bodies.NextSequence()
		if err != nil {
			return err
		}
		h.BodySeq = seq
	}
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketTasks).Put(k, packBody(head)); err != nil {
		return err
	}
	if prev != nil && prev.BodySeq != h.BodySeq {
		if err := bodies.Delete(bodyKey(k, prev.BodySeq)); err != nil {
			return err
		}
	}
	return bodies.Put(bodyKey(k, h.BodySeq), packBody(t.Body))
}

// TaskPage lists, in ID order, the IDs of up to limit tasks of cluster
// after afterID ("" from the first) that keep accepts; more says whether
// another matches after them. It reads no further than it must, so a page
// costs what it holds, not what the cluster holds.
func (s *Store) TaskPage(cluster, afterID string, limit int, keep func(*Task) bool) (ids []string, more bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		prefix := taskKey(cluster, "")
		c := tx.Bucket(bucketTasks).Cursor()
		k, v := c.Seek(taskKey(cluster, afterID))
		if afterID != "" && bytes.Equal(k, taskKey(cluster, afterID)) {
			k, v = c.Next()
		}
		var buf []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			j, err := headJSON(&buf, k, v)
			if err != nil {
				return err
			}
			// The listed fields alone: the rest of the head is skipped
			// over, not copied.
			var ix taskIndex
			if err := json.Unmarshal(j, &ix); err != nil {
				return fmt.Errorf("corrupt task record %q: %w", k, err)
			}
			cluster, id := keyParts(k)
			t := Task{Cluster: cluster, ID: id, Family: ix.Family, LaunchType: ix.LaunchType, LastStatus: ix.LastStatus,
				DesiredStatus: ix.DesiredStatus, StartedBy: ix.StartedBy, Instance: ix.Instance, Group: ix.Group}
			if keep != nil && !keep(&t) {
				continue
			}
			if len(ids) == limit {
				more = true
				return nil
			}
			ids = append(ids, t.ID)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list tasks: %w", err)
	}
	return ids, more, nil
}

// TasksByID returns the tasks of cluster named by ids, in one read; those
// it does not hold are left out.
func (s *Store) TasksByID(cluster string, ids []string) (map[string]Task, error) {
	out := make(map[string]Task, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			t, err := getTask(tx, cluster, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[id] = t
		}
		return nil
	})
	return out, err
}

// taskIndex is the part of a Task record a listing filters by, beside
// the cluster and ID its key holds.
type taskIndex struct {
	Family        string `json:"family"`
	LaunchType    string `json:"launchType"`
	LastStatus    string `json:"lastStatus"`
	DesiredStatus string `json:"desiredStatus"`
	StartedBy     string `json:"startedBy,omitempty"`
	Instance      string `json:"instance,omitempty"`
	Group         string `json:"group,omitempty"`
}
