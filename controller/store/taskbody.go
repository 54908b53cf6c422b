package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/golang/snappy"
)

// A task's body is stored compressed: the JSON of a two-container Fargate
// task (about 2.2 KB) takes a little over half a bbolt page, so that each
// body took a page of its own, and the state file, which bbolt maps and a
// pass over the tasks reads whole, grew by 4 KiB a task. Compressed (about
// 1 KB), two or three share a page. Snappy decodes a body in under a
// tenth of the time encoding/json then takes over it (about 1 µs against
// 33); deflate packs a third smaller but decodes about fifteen times
// slower than snappy, over 1 ms on a DescribeTasks of 100 tasks.
//
// A stored body is either the JSON itself, as stores written before the
// compression hold it and as a body that does not compress is kept, or
// bodySnappy, the CRC-32C of the block (4 bytes, little-endian) and a
// snappy block of the JSON. JSON text begins with a value or white space,
// never with bodySnappy, so each value says which it is and a store holds
// both. The checksum is there because a damaged block may well decode, to
// other bytes, where damaged JSON mostly fails to parse: a damaged body is
// so refused, never shown.
const bodySnappy = 0x01

// packedHeader is the length of what precedes a packed body's block.
const packedHeader = 1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxBodyExpansion bounds what a compressed body may claim to decode to,
// as a multiple of its stored size: snappy's densest element (a 3-byte copy
// of 64 bytes) expands about 21 times, so a larger claim is a damaged value
// and is refused before the buffer for it is allocated.
const maxBodyExpansion = 24

// errCorruptBody is a packed value (a body, a head) that does not decode.
var errCorruptBody = errors.New("packed value does not decode")

// packBody is the stored form of a task's body: compressed if that makes it
// smaller, else as it is.
func packBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	packed := make([]byte, packedHeader+snappy.MaxEncodedLen(len(body)))
	block := snappy.Encode(packed[packedHeader:], body)
	if packedHeader+len(block) >= len(body) {
		return body
	}
	packed[0] = bodySnappy
	binary.LittleEndian.PutUint32(packed[1:], crc32.Checksum(block, castagnoli))
	return packed[:packedHeader+len(block)]
}

// unpackBody returns the JSON of a stored body: stored itself if it is
// stored as JSON, else decoded into dst when dst is large enough (into a
// new slice otherwise). The result may share memory with stored or dst.
func unpackBody(dst, stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != bodySnappy {
		return stored, nil
	}
	if len(stored) < packedHeader {
		return nil, fmt.Errorf("%w: %d bytes", errCorruptBody, len(stored))
	}
	block := stored[packedHeader:]
	if sum := crc32.Checksum(block, castagnoli); sum != binary.LittleEndian.Uint32(stored[1:]) {
		return nil, fmt.Errorf("%w: checksum %08x, stored %08x", errCorruptBody, sum, binary.LittleEndian.Uint32(stored[1:]))
	}
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCorruptBody, err)
	}
	if n > maxBodyExpansion*len(block) {
		return nil, fmt.Errorf("%w: %d bytes claim to decode to %d", errCorruptBody, len(block), n)
	}
	body, err := snappy.Decode(dst[:cap(dst)], block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCorruptBody, err)
	}
	return body, nil
}

// isPacked says whether a stored body is compressed.
func isPacked(stored []byte) bool { return len(stored) > 0 && stored[0] == bodySnappy }

// readBody is unpackBody for the body stored under a task's key: an error
// names the task.
func readBody(dst, key, stored []byte) ([]byte, error) {
	body, err := unpackBody(dst, stored)
	if err != nil {
		cluster, id, _ := bytes.Cut(key, []byte{0})
		return nil, fmt.Errorf("task %s of cluster %s: %w", id, cluster, err)
	}
	return body, nil
}

// bodyBuffer is what a pass over the tasks decodes their packed bodies
// into, one after the other, so that the pass allocates for the largest
// body, not for each.
type bodyBuffer struct{ buf []byte }

// bodyBuffers keeps the passes' buffers from one pass to the next.
var bodyBuffers = sync.Pool{New: func() any { return new(bodyBuffer) }}

// maxPooledBody is the largest buffer kept for another pass: a rare huge
// body is not held for good.
const maxPooledBody = 64 << 10

func borrowBodyBuffer() *bodyBuffer { return bodyBuffers.Get().(*bodyBuffer) }

func (b *bodyBuffer) release() {
	if cap(b.buf) <= maxPooledBody {
		bodyBuffers.Put(b)
	}
}

// read returns the JSON of the body stored under key: the stored bytes, or
// the buffer, valid until the next read.
func (b *bodyBuffer) read(key, stored []byte) ([]byte, error) {
	body, err := readBody(b.buf, key, stored)
	if err != nil {
		return nil, err
	}
	if isPacked(stored) {
		b.buf = body[:0] // the buffer, or a larger one the body needed
	}
	return body, nil
}
