package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berthdev/berth/taskdef"
)

var (
	// bucketTaskDefinitions maps family + big-endian revision to a record,
	// so a family's revisions sort in order under one prefix.
	bucketTaskDefinitions = []byte("task-definitions")
	// bucketFamilies maps a family to its latest revision number: ECS never
	// reuses a revision, even after deregistration.
	bucketFamilies = []byte("families")
)

// Task definition statuses.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
)

// TaskDefinition is one registered revision of a family.
type TaskDefinition struct {
	Family         string                 `json:"family"`
	Revision       int                    `json:"revision"`
	Status         string                 `json:"status"`
	RegisteredAt   time.Time              `json:"registeredAt"`
	DeregisteredAt *time.Time             `json:"deregisteredAt,omitempty"`
	Definition     taskdef.TaskDefinition `json:"definition"`
	// Tags are the revision's tags. RegisterTaskDefinition moves the
	// definition's own tags here, where TagResource changes them; records
	// of berth run keep theirs in Definition (see TagList).
	Tags []Tag `json:"tags,omitempty"`
}

// TagList is the revision's tags: Tags, or the definition's own for a
// record that never had them moved.
func (t TaskDefinition) TagList() []Tag {
	if t.Tags != nil {
		return t.Tags
	}
	return t.Definition.Tags
}

// Name is the family:revision form ECS uses.
func (t TaskDefinition) Name() string { return fmt.Sprintf("%s:%d", t.Family, t.Revision) }

func revisionKey(family string, revision int) []byte {
	k := make([]byte, 0, len(family)+5)
	k = append(k, family...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(revision))
}

// RegisterTaskDefinition stores def as the next revision of its family,
// its tags on the record beside it.
func (s *Store) RegisterTaskDefinition(def taskdef.TaskDefinition, now time.Time) (TaskDefinition, error) {
	var rec TaskDefinition
	tags := def.Tags
	def.Tags = nil
	err := s.db.Update(func(tx *bolt.Tx) error {
		rev := latestRevision(tx, def.Family) + 1
		rec = TaskDefinition{Family: def.Family, Revision: rev, Status: StatusActive, RegisteredAt: now.UTC(), Definition: def, Tags: tags}
		return putTaskDefinition(tx, rec)
	})
	if err != nil {
		return TaskDefinition{}, fmt.Errorf("register task definition %s: %w", def.Family, err)
	}
	return rec, nil
}

// RegisterIfChanged returns the family's latest ACTIVE revision when its
// definition equals def, and registers def as a new revision otherwise.
// `berth run FILE` uses it so that running the same file twice does not
// pile up identical revisions.
func (s *Store) RegisterIfChanged(def taskdef.TaskDefinition, now time.Time) (TaskDefinition, bool, error) {
	want, err := json.Marshal(def)
	if err != nil {
		return TaskDefinition{}, false, fmt.Errorf("encode task definition: %w", err)
	}
	var rec TaskDefinition
	created := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		latest := latestRevision(tx, def.Family)
		for rev := latest; rev > 0; rev-- {
			old, err := getTaskDefinition(tx, def.Family, rev)
			if err != nil || old.Status != StatusActive {
				continue
			}
			if got, _ := json.Marshal(old.Definition); bytes.Equal(got, want) {
				rec = old
				return nil
			}
			break
		}
		rec = TaskDefinition{Family: def.Family, Revision: latest + 1, Status: StatusActive, RegisteredAt: now.UTC(), Definition: def}
		created = true
		return putTaskDefinition(tx, rec)
	})
	if err != nil {
		return TaskDefinition{}, false, fmt.Errorf("register task definition %s: %w", def.Family, err)
	}
	return rec, created, nil
}

// TaskDefinition returns family:revision; revision 0 means the latest
// ACTIVE revision, as ECS resolves a bare family name.
func (s *Store) TaskDefinition(family string, revision int) (TaskDefinition, error) {
	var rec TaskDefinition
	err := s.db.View(func(tx *bolt.Tx) error {
		if revision > 0 {
			var err error
			rec, err = getTaskDefinition(tx, family, revision)
			return err
		}
		for rev := latestRevision(tx, family); rev > 0; rev-- {
			r, err := getTaskDefinition(tx, family, rev)
			if err == nil && r.Status == StatusActive {
				rec = r
				return nil
			}
		}
		return ErrNotFound
	})
	if err != nil {
		name := family
		if revision > 0 {
			name = fmt.Sprintf("%s:%d", family, revision)
		}
		return TaskDefinition{}, fmt.Errorf("task definition %s: %w", name, err)
	}
	return rec, nil
}

// DeregisterTaskDefinition marks family:revision INACTIVE.
func (s *Store) DeregisterTaskDefinition(family string, revision int, now time.Time) (TaskDefinition, error) {
	var rec TaskDefinition
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getTaskDefinition(tx, family, revision); err != nil {
			return err
		}
		if rec.Status != StatusActive {
			return nil // deregistered already: it keeps its first deregisteredAt
		}
		at := now.UTC()
		rec.Status, rec.DeregisteredAt = StatusInactive, &at
		return putTaskDefinition(tx, rec)
	})
	if err != nil {
		return TaskDefinition{}, fmt.Errorf("deregister task definition %s:%d: %w", family, revision, err)
	}
	return rec, nil
}

// UpdateTaskDefinitionTags replaces the tags of family:revision with what
// update makes of them (it gets TagList), in one transaction; an error of
// update is returned as it is and nothing changes.
func (s *Store) UpdateTaskDefinitionTags(family string, revision int, update func([]Tag) ([]Tag, error)) (TaskDefinition, error) {
	var rec TaskDefinition
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getTaskDefinition(tx, family, revision); err != nil {
			return err
		}
		tags, err := update(rec.TagList())
		if err != nil {
			return err
		}
		if tags == nil {
			tags = []Tag{} // kept apart from the definition's own, even when none
		}
		rec.Tags, rec.Definition.Tags = tags, nil
		return putTaskDefinition(tx, rec)
	})
	if err != nil {
		return TaskDefinition{}, fmt.Errorf("tag task definition %s:%d: %w", family, revision, err)
	}
	return rec, nil
}

// TaskDefinitions lists revisions in family then revision order, filtered
// by family prefix and status ("" for any).
func (s *Store) TaskDefinitions(familyPrefix, status string) ([]TaskDefinition, error) {
	var out []TaskDefinition
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTaskDefinitions).Cursor()
		for k, v := c.Seek([]byte(familyPrefix)); k != nil && strings.HasPrefix(string(k), familyPrefix); k, v = c.Next() {
			var rec TaskDefinition
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("corrupt record %q: %w", k, err)
			}
			if status == "" || rec.Status == status {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out, err
}

func latestRevision(tx *bolt.Tx, family string) int {
	v := tx.Bucket(bucketFamilies).Get([]byte(family))
	if len(v) != 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(v))
}

func getTaskDefinition(tx *bolt.Tx, family string, revision int) (TaskDefinition, error) {
	v := tx.Bucket(bucketTaskDefinitions).Get(revisionKey(family, revision))
	if v == nil {
		return TaskDefinition{}, ErrNotFound
	}
	var rec TaskDefinition
	if err := json.Unmarshal(v, &rec); err != nil {
		return TaskDefinition{}, fmt.Errorf("corrupt record for %s:%d: %w", family, revision, err)
	}
	return rec, nil
}

func putTaskDefinition(tx *bolt.Tx, rec TaskDefinition) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketTaskDefinitions).Put(revisionKey(rec.Family, rec.Revision), v); err != nil {
		return err
	}
	if rec.Revision > latestRevision(tx, rec.Family) {
		return tx.Bucket(bucketFamilies).Put([]byte(rec.Family), binary.BigEndian.AppendUint32(nil, uint32(rec.Revision)))
	}
	return nil
}
