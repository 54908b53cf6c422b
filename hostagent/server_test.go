package hostagent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/taskdef"
)

// scriptedServer is a berth server the test plays itself: each connection
// an agent makes is handed, with its Hello, to the test, which answers it
// and sends what it likes.
type scriptedServer struct {
	t     *testing.T
	url   string
	conns chan *scriptedConn
}

// scriptedConn is one of an agent's connections, its Hello read.
type scriptedConn struct {
	t     *testing.T
	hello agentproto.Hello
	conn  *agentproto.Conn
}

func startScriptedServer(t *testing.T) *scriptedServer {
	t.Helper()
	s := &scriptedServer{t: t, conns: make(chan *scriptedConn, 8)}
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := agentproto.Accept(w, r)
		if err != nil {
			return
		}
		defer conn.Close()
		f, err := conn.Read()
		var hello agentproto.Hello
		if err != nil || f.Type != agentproto.TypeHello || agentproto.Decode(f, &hello) != nil {
			return
		}
		select {
		case s.conns <- &scriptedConn{t: t, hello: hello, conn: conn}:
		case <-quit:
			return
		}
		<-quit // the test closes the connection when it is done with it
	}))
	t.Cleanup(func() {
		close(quit)
		srv.Close()
	})
	s.url = srv.URL
	return s
}

// next is the agent's next connection.
func (s *scriptedServer) next() *scriptedConn {
	s.t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(time.Minute):
		s.t.Fatal("the agent did not connect within a minute")
		return nil
	}
}

// runAgent runs an agent over eng against the server until the test ends
// or it returns, which the channel receives.
func (s *scriptedServer) runAgent(eng *enginetest.Engine, cfg Config) <-chan error {
	s.t.Helper()
	cfg.Server, cfg.Docker, cfg.Logf = s.url, eng, s.t.Logf
	if cfg.StateDir == "" {
		cfg.StateDir = s.t.TempDir()
	}
	if cfg.Cluster == "" {
		cfg.Cluster = testCluster
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ended := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(ended)
		done <- Run(ctx, cfg)
	}()
	s.t.Cleanup(func() {
		cancel()
		<-ended
	})
	return done
}

const (
	testCluster  = "lab"
	testInstance = "arn:aws:ecs:us-east-1:000000000000:container-instance/lab/0123456789abcdef0123456789abcdef"
)

func testTask(id string) string { return "arn:aws:ecs:us-east-1:000000000000:task/lab/" + id }

// welcome answers the Hello: the agent is testInstance, heartbeating
// seldom enough that the test never waits on it.
func (c *scriptedConn) welcome(tasks ...agentproto.Assignment) {
	c.t.Helper()
	if tasks == nil {
		tasks = []agentproto.Assignment{}
	}
	c.send(agentproto.TypeWelcome, agentproto.Welcome{ContainerInstanceArn: testInstance, HeartbeatMillis: time.Hour.Milliseconds(), Tasks: tasks})
}

func (c *scriptedConn) send(typ string, msg any) {
	c.t.Helper()
	if err := c.conn.Write(typ, msg); err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
}

// read is the agent's next frame, heartbeats left out; a report is
// acknowledged as the server does.
func (c *scriptedConn) read() agentproto.Frame {
	c.t.Helper()
	for {
		f, err := c.conn.Read()
		if err != nil {
			c.t.Fatalf("read the agent's next frame: %v", err)
		}
		switch f.Type {
		case agentproto.TypeHeartbeat:
			continue
		case agentproto.TypeTaskStateChange:
			var m agentproto.TaskStateChange
			if err := agentproto.Decode(f, &m); err != nil {
				c.t.Fatal(err)
			}
			c.send(agentproto.TypeAck, agentproto.AckRequest{MessageID: m.MessageID})
		}
		return f
	}
}

// until reads the agent's frames until done says the last was the one
// awaited, and returns the reports read on the way.
func (c *scriptedConn) until(what string, done func(agentproto.Frame) bool) []agentproto.TaskStateChange {
	c.t.Helper()
	var reports []agentproto.TaskStateChange
	c.conn.IdleTimeout = time.Minute // a guard against a hang
	for {
		f := c.read()
		if f.Type == agentproto.TypeTaskStateChange {
			var m agentproto.TaskStateChange
			agentproto.Decode(f, &m)
			reports = append(reports, m)
		}
		if done(f) {
			return reports
		}
	}
}

// acked is a frame that acknowledges the payload id.
func acked(id string) func(agentproto.Frame) bool {
	return func(f agentproto.Frame) bool {
		var ack agentproto.AckRequest
		return f.Type == agentproto.TypeAck && agentproto.Decode(f, &ack) == nil && ack.MessageID == id
	}
}

// reported is a report of task arn at status.
func reported(arn, status string) func(agentproto.Frame) bool {
	return func(f agentproto.Frame) bool {
		var m agentproto.TaskStateChange
		return f.Type == agentproto.TypeTaskStateChange && agentproto.Decode(f, &m) == nil && m.Change.Task == arn && m.Change.Status == status
	}
}

// memImage is the image of the tasks the tests assign.
const memImage = "example/app:1"

// startOf is the assignment of task arn to run, a container of memImage.
func startOf(t *testing.T, arn string) agentproto.Assignment {
	t.Helper()
	var def taskdef.TaskDefinition
	if err := json.Unmarshal([]byte(`{"family": "app", "containerDefinitions": [{"name": "app", "image": "`+memImage+`", "memory": 16}]}`), &def); err != nil {
		t.Fatal(err)
	}
	return agentproto.Assignment{TaskArn: arn, DesiredStatus: "RUNNING", Family: "app", Revision: 1, Definition: &def, LaunchType: "EC2"}
}

func stopOf(arn string) agentproto.Assignment {
	return agentproto.Assignment{TaskArn: arn, DesiredStatus: "STOPPED", StopCode: "UserInitiated", StoppedReason: "stopped by the test"}
}

// payload is a PayloadMessage of one assignment, under id.
func payload(id string, as agentproto.Assignment) agentproto.PayloadMessage {
	return agentproto.PayloadMessage{MessageID: id, Tasks: []agentproto.Assignment{as}}
}

// newMemEngine is an engine in memory that has memImage.
func newMemEngine() *enginetest.Engine {
	eng := enginetest.New(nil)
	eng.AddImage(memImage, nil)
	return eng
}
