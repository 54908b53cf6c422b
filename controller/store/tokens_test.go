package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A RunTask's client token is recorded with its tasks in one transaction:
// the same token again within a day stores nothing and gives the first
// record; in another cluster, or a day later, it is free; tokens a day old
// are forgotten.
func TestAClientTokenIsUsedOnceADayInItsCluster(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0).UTC()
	for _, name := range []string{"a", "b"} {
		if _, _, err := s.CreateCluster(Cluster{Name: name}, now); err != nil {
			t.Fatal(err)
		}
	}
	first := RunToken{Request: "r1", Failures: []byte(`[{"reason":"RESOURCE:MEMORY"}]`), UsedAt: now}
	if _, err := s.CreateTasksOnce("a", "tok", first, []Task{{Cluster: "a", ID: "1"}, {Cluster: "a", ID: "2"}}); err != nil {
		t.Fatal(err)
	}
	prior, err := s.CreateTasksOnce("a", "tok", RunToken{Request: "r1", UsedAt: now.Add(time.Hour)}, []Task{{Cluster: "a", ID: "3"}})
	if !errors.Is(err, ErrTokenUsed) || prior.Request != "r1" || !slices.Equal(prior.TaskIDs, []string{"1", "2"}) || string(prior.Failures) != string(first.Failures) {
		t.Fatalf("the token again: %+v, %v", prior, err)
	}
	if _, err := s.Task("a", "3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a repeated RunTask stored its task: %v", err)
	}
	if got, found, err := s.RunToken("a", "tok", now.Add(time.Hour)); err != nil || !found || !slices.Equal(got.TaskIDs, []string{"1", "2"}) {
		t.Errorf("RunToken: %+v %v %v", got, found, err)
	}
	if _, err := s.CreateTasksOnce("b", "tok", RunToken{Request: "r2", UsedAt: now}, []Task{{Cluster: "b", ID: "1"}}); err != nil {
		t.Errorf("the token in another cluster: %v", err)
	}
	later := now.Add(RunTokenLife)
	if _, found, _ := s.RunToken("a", "tok", later); found {
		t.Error("a token a day old still counts")
	}
	if _, err := s.CreateTasksOnce("a", "tok", RunToken{Request: "r3", UsedAt: later}, []Task{{Cluster: "a", ID: "4"}}); err != nil {
		t.Errorf("a token a day old used again: %v", err)
	}
	if err := s.ForgetRunTokens(later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	kept := 0
	s.db.View(func(tx *bolt.Tx) error { kept = tx.Bucket(bucketRunTokens).Stats().KeyN; return nil })
	if kept != 1 {
		t.Errorf("%d tokens kept after forgetting those a day old, want 1 (a's, used again)", kept)
	}
}

// A refused batch records no token: the RunTask may be tried again.
func TestARefusedRunRecordsNoToken(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0).UTC()
	if _, err := s.CreateTasksOnce("nowhere", "tok", RunToken{Request: "r", UsedAt: now}, []Task{{Cluster: "nowhere", ID: "1"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a task of a cluster that does not exist: %v", err)
	}
	if _, found, err := s.RunToken("nowhere", "tok", now); found || err != nil {
		t.Errorf("the refused RunTask's token was kept: %v %v", found, err)
	}
}

func TestACorruptTokenRecordIsAnErrorNamingIt(t *testing.T) {
	s := openTemp(t)
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRunTokens).Put(runTokenKey("a", "tok"), []byte("{")) })
	if _, _, err := s.RunToken("a", "tok", time.Now()); err == nil || !containsAll(err.Error(), `"tok"`, "cluster a") {
		t.Errorf("a corrupt record: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
