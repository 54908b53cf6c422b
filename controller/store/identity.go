package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketMeta holds facts about the store itself.
var bucketMeta = []byte("meta")

// ID names this store among the stores on a machine: random, made once,
// kept. What a server of this store makes on an engine carries it, so that
// two servers on one engine tell their things apart.
func (s *Store) ID() (string, error) {
	var id string
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get([]byte("id")); v != nil {
			id = string(v)
			return nil
		}
		raw := make([]byte, 8)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		id = hex.EncodeToString(raw)
		return b.Put([]byte("id"), []byte(id))
	})
	if err != nil {
		return "", fmt.Errorf("the store's ID: %w", err)
	}
	return id, nil
}
