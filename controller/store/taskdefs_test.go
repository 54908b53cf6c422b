package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/taskdef"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func def(family, image string) taskdef.TaskDefinition {
	return taskdef.TaskDefinition{Family: family, ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "a", Image: image}}}
}

func TestRevisionsCountUpPerFamilyAndAreNeverReused(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	for i, want := range []string{"web:1", "web:2", "api:1", "web:3"} {
		family := "web"
		if i == 2 {
			family = "api"
		}
		rec, err := s.RegisterTaskDefinition(def(family, "nginx"), now)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Name() != want {
			t.Errorf("registered %s, want %s", rec.Name(), want)
		}
	}
	if _, err := s.DeregisterTaskDefinition("web", 3, now); err != nil {
		t.Fatal(err)
	}
	latest, err := s.TaskDefinition("web", 0)
	if err != nil || latest.Revision != 2 {
		t.Errorf("latest active web = %v, %v; want revision 2", latest.Name(), err)
	}
	rec, _ := s.RegisterTaskDefinition(def("web", "nginx"), now)
	if rec.Revision != 4 {
		t.Errorf("after deregistering 3, next revision %d, want 4", rec.Revision)
	}
	if _, err := s.TaskDefinition("web", 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("web:9: %v, want ErrNotFound", err)
	}
	all, _ := s.TaskDefinitions("web", "")
	if len(all) != 4 {
		t.Errorf("listed %d web revisions, want 4", len(all))
	}
	active, _ := s.TaskDefinitions("", StatusActive)
	if len(active) != 4 {
		t.Errorf("listed %d active revisions, want 4 (web 1,2,4 and api 1)", len(active))
	}
}

func TestRegisterIfChangedReusesAnIdenticalLatestRevision(t *testing.T) {
	s := openTemp(t)
	now := time.Now()
	first, created, err := s.RegisterIfChanged(def("job", "busybox"), now)
	if err != nil || !created || first.Revision != 1 {
		t.Fatalf("first: %v %v %v", first.Name(), created, err)
	}
	again, created, _ := s.RegisterIfChanged(def("job", "busybox"), now)
	if created || again.Revision != 1 {
		t.Errorf("identical definition registered again as %s", again.Name())
	}
	changed, created, _ := s.RegisterIfChanged(def("job", "alpine"), now)
	if !created || changed.Revision != 2 {
		t.Errorf("changed definition: %s created=%v, want job:2", changed.Name(), created)
	}
}

func TestStateSurvivesReopening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterTaskDefinition(def("web", "nginx"), time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec, err := s.TaskDefinition("web", 1); err != nil || rec.Definition.ContainerDefinitions[0].Image != "nginx" {
		t.Errorf("after reopening: %+v, %v", rec, err)
	}
}

func TestASecondOpenOfAHeldStoreSaysItIsInUse(t *testing.T) {
	defer func(wait time.Duration) { lockWait = wait }(lockWait)
	lockWait = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}
