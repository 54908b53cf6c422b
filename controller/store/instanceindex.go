package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"
)

// A registration finds a free host address and the instance a berth
// agent's registration key registered without reading the instance
// records, through two indexes kept in the transaction of every write of a
// record (putInstance):
//
//	container-instance-addresses  address (4 bytes) -> cluster 0 ID
//	container-instance-reg-keys   cluster 0 len(key) key ID -> (nothing)
//
// An address's 4 bytes order the keys as the addresses, so that the lowest
// free one is found from the last key and the number of keys (the bucket's
// sequence), or, when some address below the last is free, from the first
// gap in the keys. Only the addresses instances are given (hostAddressAt)
// are indexed. A
// registration key is preceded by its length (uvarint), so that no key is
// the beginning of another; the IDs of a key's instances follow it, in ID
// order, and a key registers again the first, as when the records were
// read in order.
//
// A store written before the indexes has neither bucket, and one that
// older berth wrote to since holds records the indexes lack: the store's
// opening (openInstanceIndexes) builds them afresh from the records then,
// which it tells by the number of records, kept in bucketMeta as the
// indexes are. An older berth that changed the registration key of a
// record it did not add is not noticed.
var (
	bucketInstanceAddresses = []byte("container-instance-addresses")
	bucketInstanceRegKeys   = []byte("container-instance-reg-keys")
)

// metaIndexedInstances is the key in bucketMeta of the number of instance
// records the indexes were kept for (8 bytes, big-endian).
var metaIndexedInstances = []byte("indexed-container-instances")

// hostAddresses is the number of loopback addresses instances are given:
// 127.0.0.2 to 127.0.0.254, then 254 in each of 127.0.1.x to 127.0.255.x.
// 127.0.0.1 is left to berth run, and addresses ending in .0 or .255 are
// skipped, which tools read as networks and broadcasts.
const hostAddresses = 253 + 255*254

// hostAddressIndex is the place of a among the addresses instances are
// given (127.0.0.2 is 0), or -1 for an address never given.
func hostAddressIndex(a [4]byte) int {
	if a[0] != 127 || a[1] != 0 || a[3] == 0 || a[3] == 255 || a[2] == 0 && a[3] == 1 {
		return -1
	}
	return int(a[2])*254 + int(a[3]) - 2
}

// keyPlace is the place of the address of a key of
// bucketInstanceAddresses, or -1 for a key that is none.
func keyPlace(k []byte) int {
	if len(k) != 4 {
		return -1
	}
	return hostAddressIndex([4]byte(k))
}

// hostAddressAt is the address at place i (hostAddressIndex).
func hostAddressAt(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, byte((i + 1) / 254), byte((i+1)%254 + 1)})
}

// indexed is what the indexes hold of an instance record.
type indexed struct {
	address, regKey string
}

func indexedOf(rec *ContainerInstance) indexed {
	ix := indexed{address: rec.HostAddress}
	if rec.Agent != nil {
		ix.regKey = rec.Agent.RegistrationKey
	}
	return ix
}

// addressKey is the key of an address in bucketInstanceAddresses, if it is
// one instances are given.
func addressKey(address string) ([]byte, bool) {
	a, err := netip.ParseAddr(address)
	if err != nil || !a.Is4() || hostAddressIndex(a.As4()) < 0 {
		return nil, false
	}
	b := a.As4()
	return b[:], true
}

func regKeyPrefix(cluster, key string) []byte {
	k := append([]byte(cluster), 0)
	k = binary.AppendUvarint(k, uint64(len(key)))
	return append(k, key...)
}

// reindexInstance moves the instance id of cluster in the indexes from
// what was (nil: no record before) to what now is (nil: no record now).
func reindexInstance(tx *bolt.Tx, cluster, id string, was, now *indexed) error {
	var before, after indexed
	if was != nil {
		before = *was
	}
	if now != nil {
		after = *now
	}
	if before.address != after.address {
		if err := unindexAddress(tx, before.address, instanceKey(cluster, id)); err != nil {
			return err
		}
		if err := indexAddress(tx, after.address, instanceKey(cluster, id)); err != nil {
			return err
		}
	}
	if before.regKey != after.regKey {
		keys := tx.Bucket(bucketInstanceRegKeys)
		if before.regKey != "" {
			if err := keys.Delete(append(regKeyPrefix(cluster, before.regKey), id...)); err != nil {
				return err
			}
		}
		if after.regKey != "" {
			if err := keys.Put(append(regKeyPrefix(cluster, after.regKey), id...), nil); err != nil {
				return err
			}
		}
	}
	if (was == nil) == (now == nil) {
		return nil
	}
	meta := tx.Bucket(bucketMeta)
	n := indexedInstances(tx)
	if was == nil {
		n++
	} else {
		n--
	}
	return meta.Put(metaIndexedInstances, binary.BigEndian.AppendUint64(nil, n))
}

// indexAddress records that the instance of key has address. An address
// another instance has already (which no registration gives, but a
// damaged store might hold) stays that one's.
func indexAddress(tx *bolt.Tx, address string, key []byte) error {
	k, ok := addressKey(address)
	if !ok {
		return nil
	}
	b := tx.Bucket(bucketInstanceAddresses)
	if b.Get(k) != nil {
		return nil
	}
	if err := b.Put(k, key); err != nil {
		return err
	}
	return b.SetSequence(b.Sequence() + 1)
}

// unindexAddress forgets that the instance of key has address.
func unindexAddress(tx *bolt.Tx, address string, key []byte) error {
	k, ok := addressKey(address)
	if !ok {
		return nil
	}
	b := tx.Bucket(bucketInstanceAddresses)
	if !bytes.Equal(b.Get(k), key) {
		return nil
	}
	if err := b.Delete(k); err != nil {
		return err
	}
	return b.SetSequence(b.Sequence() - 1)
}

func indexedInstances(tx *bolt.Tx) uint64 {
	v := tx.Bucket(bucketMeta).Get(metaIndexedInstances)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// openInstanceIndexes builds the instance indexes from the records when
// the store has none, or holds records they lack (see above); it is part
// of the transaction that opens the store.
func openInstanceIndexes(tx *bolt.Tx) error {
	records := tx.Bucket(bucketInstances)
	if tx.Bucket(bucketInstanceAddresses) != nil && tx.Bucket(bucketInstanceRegKeys) != nil {
		n := uint64(0)
		c := records.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		if n == indexedInstances(tx) {
			return nil
		}
	}
	for _, name := range [][]byte{bucketInstanceAddresses, bucketInstanceRegKeys} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketMeta).Delete(metaIndexedInstances); err != nil {
		return err
	}
	return records.ForEach(func(k, v []byte) error {
		rec, err := decodeInstance(k, v)
		if err != nil {
			return err
		}
		ix := indexedOf(&rec)
		if err := reindexInstance(tx, rec.Cluster, rec.ID, nil, &ix); err != nil {
			return fmt.Errorf("index container instance %q: %w", k, err)
		}
		return nil
	})
}

// freeHostAddress is the lowest loopback address no stored instance has.
func freeHostAddress(tx *bolt.Tx) (string, error) {
	b := tx.Bucket(bucketInstanceAddresses)
	c := b.Cursor()
	// Taken are n addresses, the last of them at place n-1: all those
	// below it, so the next is free.
	n := int(b.Sequence())
	if k, _ := c.Last(); k == nil {
		n = 0
	} else if keyPlace(k) != n-1 {
		n = -1
	}
	if n >= 0 && n < hostAddresses {
		if a := hostAddressAt(n).As4(); b.Get(a[:]) == nil {
			return hostAddressAt(n).String(), nil
		}
	}
	// The first address, in order, whose place is not the next.
	i := 0
	for k, _ := c.First(); k != nil && keyPlace(k) == i; k, _ = c.Next() {
		i++
	}
	if i >= hostAddresses {
		return "", ErrNoHostAddress
	}
	return hostAddressAt(i).String(), nil
}
