// Package agentproto is the wire between berth server and the agents of
// the container instances it does not run itself (berth agent), as ECS's
// ACS is between ECS and its agents: the agent connects out to the server
// (a host behind NAT works), the server pushes task assignments and stop
// requests over that connection, the agent reports what happens to its
// tasks, and every message that matters is acknowledged, so that none is
// lost when the connection drops. docs/agent-protocol.md draws it.
//
//	agent                                  server
//	  │ GET /berth/v1/agent  Upgrade: berth-agent/1
//	  │ Authorization: Bearer TOKEN (beyond loopback)
//	  │ ◄──────────────── 101 Switching Protocols
//	  │ ── Hello{instance, tasks it runs} ─────────►
//	  │ ◄──────── Welcome{desired status of each} ──
//	  │ ◄──── PayloadMessage{messageId, tasks} ─────
//	  │ ── AckRequest{messageId} ──────────────────►
//	  │ ── TaskStateChange{messageId, …} ──────────►
//	  │ ◄──────────────── AckRequest{messageId} ────
//	  │ ◄────── HeartbeatMessage / HeartbeatAck ───►
//
// Frames are JSON objects, one a line: {"type": NAME, "message": {...}}.
// Each side keeps what it sent and has not had acknowledged in an Outbox
// and sends it again after a reconnect; each drops what it has seen already
// (Seen), so a message is acted on once however often it arrives, and in
// any order: the messages carry whole states, and each task's version
// orders them.
package agentproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// MaxFrame bounds a frame: the largest message, a payload of ten tasks
// with their definitions, is well below it.
const MaxFrame = 4 << 20

// ErrFrameTooLarge is a frame longer than MaxFrame.
var ErrFrameTooLarge = errors.New("frame larger than the protocol allows")

// Frame is one message on the wire.
type Frame struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message"`
}

// Conn reads and writes frames on a connection. Reads come from one
// goroutine; writes may come from any number, each frame whole.
type Conn struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
	// IdleTimeout ends a read that waits longer: the peer heartbeats
	// more often than this.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write.
	WriteTimeout time.Duration
}

// NewConn frames conn, whose bytes so far r has buffered (or nil).
func NewConn(conn net.Conn, r *bufio.Reader) *Conn {
	if r == nil {
		r = bufio.NewReader(conn)
	}
	return &Conn{conn: conn, r: r, IdleTimeout: time.Minute, WriteTimeout: 10 * time.Second}
}

// Read reads the next frame.
func (c *Conn) Read() (Frame, error) {
	if c.IdleTimeout > 0 {
		c.conn.SetReadDeadline(time.Now().Add(c.IdleTimeout))
	}
	var line []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxFrame {
			return Frame{}, ErrFrameTooLarge
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
	}
	var f Frame
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Frame{}, fmt.Errorf("read a frame: %w", err)
	}
	if f.Type == "" {
		return Frame{}, errors.New("read a frame: it has no type")
	}
	return f, nil
}

// Write writes one frame of type typ holding msg.
func (c *Conn) Write(typ string, msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	line, err := json.Marshal(Frame{Type: typ, Message: body})
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	if len(line) >= MaxFrame {
		return fmt.Errorf("%s: %w", typ, ErrFrameTooLarge)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.WriteTimeout > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(c.WriteTimeout))
	}
	_, err = c.conn.Write(append(line, '\n'))
	return err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// Decode reads a frame's message into v, refusing members v does not have.
func Decode(f Frame, v any) error {
	dec := json.NewDecoder(bytes.NewReader(f.Message))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", f.Type, err)
	}
	return nil
}
