package agentproto

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func pipe(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewConn(a, nil), NewConn(b, nil)
}

func TestFramesGoAcrossWhole(t *testing.T) {
	a, b := pipe(t)
	go a.Write(TypeHello, Hello{ContainerInstanceArn: "arn:i", Tasks: []TaskStatus{{TaskArn: "arn:t", LastStatus: "RUNNING", Version: 7}}})
	f, err := b.Read()
	if err != nil {
		t.Fatal(err)
	}
	var h Hello
	if err := Decode(f, &h); err != nil || f.Type != TypeHello || h.Tasks[0].Version != 7 {
		t.Fatalf("%+v %+v %v", f, h, err)
	}
}

func TestBadFramesAreRefusedNamingWhy(t *testing.T) {
	tests := map[string]string{
		"not JSON":            "hello\n",
		"no type":             `{"message": {}}` + "\n",
		"an unknown member":   `{"type": "Hello", "message": {}, "extra": 1}` + "\n",
		"cut off at its end":  `{"type": "Hello", "mess`,
		"larger than allowed": `{"type": "Hello", "message": "` + strings.Repeat("x", MaxFrame) + `"}` + "\n",
	}
	for name, wire := range tests {
		t.Run(name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			go func() { io.WriteString(a, wire); a.Close() }()
			if f, err := NewConn(b, nil).Read(); err == nil {
				t.Errorf("read %+v", f)
			}
		})
	}
	var msg Hello
	if err := Decode(Frame{Type: TypeHello, Message: []byte(`{"tasks": [], "surprise": true}`)}, &msg); err == nil {
		t.Error("a message with a member the type lacks was read")
	}
}

func TestTheOutboxKeepsWhatIsNotAcknowledgedInOrder(t *testing.T) {
	o := NewOutbox()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := o.Add(id, TypePayload, PayloadMessage{MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if !o.Ack("b") || o.Ack("b") || o.Ack("never") {
		t.Error("Ack reports wrongly whether it held the message")
	}
	o.Add("a", TypePayload, PayloadMessage{MessageID: "a"}) // sent again: keeps its place
	var ids []string
	for _, f := range o.Pending() {
		var p PayloadMessage
		Decode(f, &p)
		ids = append(ids, p.MessageID)
	}
	if strings.Join(ids, ",") != "a,c" || o.Len() != 2 {
		t.Errorf("pending %v", ids)
	}
}

func TestSeenActsOnEachMessageOnceAndForgetsTheOldest(t *testing.T) {
	s := NewSeen(2)
	if !s.First("a") || s.First("a") || !s.First("b") || !s.First("c") {
		t.Fatal("first sightings reported wrongly")
	}
	if !s.First("a") {
		t.Error("the oldest ID was not forgotten beyond the size")
	}
	if s.First("c") {
		t.Error("a recent ID was forgotten")
	}
	if !s.Has("c") || s.Has("b") || s.Has("d") || s.Has("d") {
		t.Error("Has answers wrongly, or records what it is asked")
	}
}

// An assignment whose acknowledgement is lost with the connection is sent
// again after the reconnect, and the agent acts on it once: dropped
// connections and duplicates start nothing twice.
func TestAssignmentsSurviveADroppedConnectionAndActOnce(t *testing.T) {
	server := NewOutbox()
	seen := NewSeen(100)
	started := map[string]int{}
	for _, id := range []string{"p1", "p2", "p3"} {
		server.Add(id, TypePayload, PayloadMessage{MessageID: id, Tasks: []Assignment{{TaskArn: "task-" + id, DesiredStatus: "RUNNING"}}})
	}
	// receive reads what the server sends on one connection; the agent
	// acknowledges each, and the acknowledgement of dropAckOf is lost.
	receive := func(dropAckOf string) {
		for _, f := range server.Pending() {
			var p PayloadMessage
			if err := Decode(f, &p); err != nil {
				t.Fatal(err)
			}
			if seen.First(p.MessageID) {
				for _, a := range p.Tasks {
					started[a.TaskArn]++
				}
			}
			if p.MessageID != dropAckOf {
				server.Ack(p.MessageID)
			}
		}
	}
	receive("p2") // the connection drops before p2's ack arrives
	receive("")   // after the reconnect, p2 comes again
	receive("")   // and a duplicate delivery changes nothing
	for _, id := range []string{"p1", "p2", "p3"} {
		if n := started["task-"+id]; n != 1 {
			t.Errorf("task-%s started %d times", id, n)
		}
	}
	if server.Len() != 0 {
		t.Errorf("%d messages still unacknowledged", server.Len())
	}
}

func TestAnAgentConnectsThroughTheUpgrade(t *testing.T) {
	accepted := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "the token is wrong", http.StatusForbidden)
			return
		}
		c, err := Accept(w, r)
		if err == nil {
			accepted <- c
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	agent, err := Dial(ctx, srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	server := <-accepted
	defer server.Close()
	go agent.Write(TypeHello, Hello{ContainerInstanceArn: "arn:i"})
	if f, err := server.Read(); err != nil || f.Type != TypeHello {
		t.Fatalf("the server read %+v, %v", f, err)
	}
	go server.Write(TypeWelcome, Welcome{HeartbeatMillis: 10000})
	if f, err := agent.Read(); err != nil || f.Type != TypeWelcome {
		t.Fatalf("the agent read %+v, %v", f, err)
	}

	for _, token := range []string{"", "forged"} {
		_, err := Dial(ctx, srv.URL, token)
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
			t.Errorf("token %q: %v, want a refusal", token, err)
		}
	}
}

func TestARequestThatDoesNotAskForTheProtocolIsTold(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Accept(w, r) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != Protocol {
		t.Errorf("%d %v", resp.StatusCode, resp.Header)
	}
}
