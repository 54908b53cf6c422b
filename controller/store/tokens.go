package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketRunTokens maps cluster + NUL + client token to the RunToken of the
// RunTask that used it.
var bucketRunTokens = []byte("run-tokens")

// RunTokenLife is how long a RunTask's client token is kept, as ECS keeps
// it: a retry within it gets the first call's tasks; after it, the token
// is free again.
const RunTokenLife = 24 * time.Hour

// RunToken is what a RunTask with a client token started: a retry with the
// same token and the same request (Request, a digest of it) is answered
// with these tasks instead of starting more.
type RunToken struct {
	Request  string          `json:"request"`
	TaskIDs  []string        `json:"taskIds"`
	Failures json.RawMessage `json:"failures,omitempty"`
	UsedAt   time.Time       `json:"usedAt"`
}

// ErrTokenUsed: the client token was used by a RunTask before, within
// RunTokenLife.
var ErrTokenUsed = errors.New("client token already used")

func runTokenKey(cluster, token string) []byte {
	return append(append([]byte(cluster), 0), token...)
}

// RunToken returns the RunTask that used token in cluster within
// RunTokenLife before now, if any.
func (s *Store) RunToken(cluster, token string, now time.Time) (RunToken, bool, error) {
	var rt RunToken
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rt, found, err = getRunToken(tx, cluster, token, now)
		return err
	})
	return rt, found, err
}

func getRunToken(tx *bolt.Tx, cluster, token string, now time.Time) (RunToken, bool, error) {
	v := tx.Bucket(bucketRunTokens).Get(runTokenKey(cluster, token))
	if v == nil {
		return RunToken{}, false, nil
	}
	var rt RunToken
	if err := json.Unmarshal(v, &rt); err != nil {
		return RunToken{}, false, fmt.Errorf("corrupt client token record %q of cluster %s: %w", token, cluster, err)
	}
	if now.Sub(rt.UsedAt) >= RunTokenLife {
		return RunToken{}, false, nil
	}
	return rt, true, nil
}

// CreateTasksOnce is CreateTasks for a RunTask with a client token: in the
// same transaction it records the token with the tasks, unless a RunTask
// used it first, within RunTokenLife of rt.UsedAt; then nothing is stored,
// and the error is ErrTokenUsed with that RunTask's token.
func (s *Store) CreateTasksOnce(cluster, token string, rt RunToken, tasks []Task) (RunToken, error) {
	var prior RunToken
	err := s.updateTasks(func(tx *bolt.Tx, changes *[]TaskChange) error {
		found := false
		var err error
		if prior, found, err = getRunToken(tx, cluster, token, rt.UsedAt); err != nil {
			return err
		}
		if found {
			return ErrTokenUsed
		}
		if err := createTasks(tx, tasks, changes); err != nil {
			return err
		}
		for _, t := range tasks {
			rt.TaskIDs = append(rt.TaskIDs, t.ID)
		}
		v, err := json.Marshal(rt)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketRunTokens).Put(runTokenKey(cluster, token), v)
	})
	return prior, err
}

// ForgetRunTokens forgets the client tokens used RunTokenLife or longer
// before now.
func (s *Store) ForgetRunTokens(now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRunTokens)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var rt RunToken
			if json.Unmarshal(v, &rt) != nil || now.Sub(rt.UsedAt) >= RunTokenLife {
				old = append(old, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
