package store

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// metadataPortKey is the meta key of an agent's task metadata port.
func metadataPortKey(agent string) []byte { return []byte("metadata-port/" + agent) }

// MetadataPort is the port the task metadata endpoint of the server's
// agent named agent last listened on; 0 when it never did.
func (s *Store) MetadataPort(agent string) (int, error) {
	var port int
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(metadataPortKey(agent))
		if v == nil {
			return nil
		}
		p, err := strconv.Atoi(string(v))
		if err != nil {
			return &CorruptError{Path: s.db.Path(), Err: fmt.Errorf("metadata port of %s: %w", agent, err)}
		}
		port = p
		return nil
	})
	return port, err
}

// SetMetadataPort records the port the task metadata endpoint of the
// server's agent named agent listens on, for the agent that follows it.
func (s *Store) SetMetadataPort(agent string, port int) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metadataPortKey(agent), []byte(strconv.Itoa(port)))
	})
	if err != nil {
		return fmt.Errorf("record the metadata port of %s: %w", agent, err)
	}
	return nil
}
