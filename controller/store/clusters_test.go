package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestCreateClusterIsIdempotentOnAnActiveNameAndRenewsAnInactiveOne(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	first, created, err := s.CreateCluster(Cluster{Name: "web", Tags: []Tag{{Key: "team", Value: "blue"}}}, now)
	if err != nil || !created || first.Status != StatusActive {
		t.Fatalf("create: %+v, %v, %v", first, created, err)
	}
	again, created, err := s.CreateCluster(Cluster{Name: "web"}, now.Add(time.Hour))
	if err != nil || created || len(again.Tags) != 1 || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("create again: %+v, created %v, %v; want the first cluster back", again, created, err)
	}
	if _, err := s.DeleteCluster("web", now); err != nil {
		t.Fatal(err)
	}
	renewed, created, err := s.CreateCluster(Cluster{Name: "web"}, now.Add(2*time.Hour))
	if err != nil || !created || renewed.Status != StatusActive || renewed.DeletedAt != nil || len(renewed.Tags) != 0 {
		t.Fatalf("create after delete: %+v, created %v, %v; want a new ACTIVE cluster", renewed, created, err)
	}
}

func TestDeleteClusterRefusesWhileSomethingHoldsIt(t *testing.T) {
	holding := func(held bool) func(*bolt.Tx, string) (bool, error) {
		return func(*bolt.Tx, string) (bool, error) { return held, nil }
	}
	tests := []struct {
		name    string
		holders []clusterHolder
		want    error
	}{
		{"nothing holds it", []clusterHolder{{holding(false), ErrClusterHasInstances}, {holding(false), ErrClusterHasTasks}}, nil},
		{"tasks hold it", []clusterHolder{{holding(false), ErrClusterHasInstances}, {holding(true), ErrClusterHasTasks}}, ErrClusterHasTasks},
		{"instances are named before tasks", []clusterHolder{{holding(true), ErrClusterHasInstances}, {holding(true), ErrClusterHasTasks}}, ErrClusterHasInstances},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := clusterHolders
			clusterHolders = tt.holders
			t.Cleanup(func() { clusterHolders = saved })
			s := openTemp(t)
			now := time.Unix(1700000000, 0)
			if _, _, err := s.CreateCluster(Cluster{Name: "web"}, now); err != nil {
				t.Fatal(err)
			}
			_, err := s.DeleteCluster("web", now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("delete: %v, want %v", err, tt.want)
			}
			rec, _ := s.Cluster("web")
			if want := map[bool]string{true: StatusInactive, false: StatusActive}[tt.want == nil]; rec.Status != want {
				t.Errorf("cluster is %s, want %s", rec.Status, want)
			}
		})
	}
}

func TestDeleteClusterOfAMissingClusterIsNotFoundAndOfAnInactiveOneChangesNothing(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	if _, err := s.DeleteCluster("nope", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete a missing cluster: %v, want ErrNotFound", err)
	}
	if _, _, err := s.CreateCluster(Cluster{Name: "web"}, now); err != nil {
		t.Fatal(err)
	}
	first, err := s.DeleteCluster("web", now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.DeleteCluster("web", now.Add(time.Hour))
	if err != nil || again.Status != StatusInactive || !again.DeletedAt.Equal(*first.DeletedAt) {
		t.Errorf("delete twice: %+v, %v; want it INACTIVE since the first delete", again, err)
	}
	if _, err := s.UpdateClusterTags("web", func(tags []Tag) ([]Tag, error) { return tags, nil }); !errors.Is(err, ErrClusterInactive) {
		t.Errorf("tag an inactive cluster: %v, want ErrClusterInactive", err)
	}
}

func TestUpdateTagsChangesNothingWhenTheUpdateFails(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	if _, _, err := s.CreateCluster(Cluster{Name: "web", Tags: []Tag{{Key: "a"}}}, now); err != nil {
		t.Fatal(err)
	}
	d := def("web", "nginx")
	d.Tags = []Tag{{Key: "a"}}
	if _, err := s.RegisterTaskDefinition(d, now); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("too many tags")
	fail := func([]Tag) ([]Tag, error) { return nil, refused }
	if _, err := s.UpdateClusterTags("web", fail); !errors.Is(err, refused) {
		t.Errorf("cluster: %v, want the update's error", err)
	}
	if _, err := s.UpdateTaskDefinitionTags("web", 1, fail); !errors.Is(err, refused) {
		t.Errorf("task definition: %v, want the update's error", err)
	}
	c, _ := s.Cluster("web")
	td, _ := s.TaskDefinition("web", 1)
	if len(c.Tags) != 1 || len(td.TagList()) != 1 {
		t.Errorf("tags after a failed update: cluster %v, task definition %v; want them unchanged", c.Tags, td.TagList())
	}
}

func TestRegisteredTagsRideBesideTheDefinitionAndUntaggingAllSticks(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	d := def("web", "nginx")
	d.Tags = []Tag{{Key: "a", Value: "1"}}
	rec, err := s.RegisterTaskDefinition(d, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Definition.Tags != nil || len(rec.Tags) != 1 {
		t.Errorf("registered: definition tags %v, record tags %v; want them on the record", rec.Definition.Tags, rec.Tags)
	}
	if _, err := s.UpdateTaskDefinitionTags("web", 1, func([]Tag) ([]Tag, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	got, _ := s.TaskDefinition("web", 1)
	if len(got.TagList()) != 0 {
		t.Errorf("tags after removing all: %v, want none", got.TagList())
	}
}

func TestDeregisteringTwiceKeepsTheFirstDeregisteredAt(t *testing.T) {
	s := openTemp(t)
	now := time.Unix(1700000000, 0)
	if _, err := s.RegisterTaskDefinition(def("web", "nginx"), now); err != nil {
		t.Fatal(err)
	}
	first, err := s.DeregisterTaskDefinition("web", 1, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.DeregisterTaskDefinition("web", 1, now.Add(time.Hour))
	if err != nil || !second.DeregisteredAt.Equal(*first.DeregisteredAt) {
		t.Errorf("deregistered again: %v at %v; want it kept at %v", err, second.DeregisteredAt, first.DeregisteredAt)
	}
}
