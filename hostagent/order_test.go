package hostagent

import (
	"testing"

	"github.com/berthdev/berth/agentproto"
)

// The server's assignments of one task, in whatever order and however
// often they come (a stop before its start, each twice, each again under
// another message ID as a server sends one again): the task is started at
// most once, never after the agent was told to stop it, and ends STOPPED.
func TestAssignmentsInAnyOrderStartATaskAtMostOnce(t *testing.T) {
	tests := []struct {
		name string
		// script sends the assignments of task arn on c and reads until
		// they are all acted on.
		script  func(t *testing.T, c *scriptedConn, arn string)
		creates int
	}{
		{"a stop before its start, then both twice and under new IDs", func(t *testing.T, c *scriptedConn, arn string) {
			for _, p := range []agentproto.PayloadMessage{
				payload("stop-1", stopOf(arn)), payload("start-1", startOf(t, arn)),
				payload("stop-1", stopOf(arn)), payload("start-1", startOf(t, arn)),
				payload("start-2", startOf(t, arn)), payload("stop-2", stopOf(arn)), payload("start-3", startOf(t, arn)),
			} {
				c.send(agentproto.TypePayload, p)
			}
			c.until("the last payload acknowledged", acked("start-3"))
		}, 0},
		{"a start, its stop, then both twice and under new IDs", func(t *testing.T, c *scriptedConn, arn string) {
			c.send(agentproto.TypePayload, payload("start-1", startOf(t, arn)))
			c.until("the task runs", reported(arn, "RUNNING"))
			c.send(agentproto.TypePayload, payload("stop-1", stopOf(arn)))
			c.until("the task stopped", reported(arn, "STOPPED"))
			for _, p := range []agentproto.PayloadMessage{
				payload("start-1", startOf(t, arn)), payload("stop-1", stopOf(arn)),
				payload("start-2", startOf(t, arn)), payload("stop-2", stopOf(arn)), payload("start-3", startOf(t, arn)),
			} {
				c.send(agentproto.TypePayload, p)
			}
			c.until("the last payload acknowledged", acked("start-3"))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScriptedServer(t)
			eng := newMemEngine()
			srv.runAgent(eng, Config{})
			c := srv.next()
			c.welcome()
			arn := testTask("0000000000000000000000000000000a")
			tt.script(t, c, arn)

			// The agent says what it holds on its next connection.
			c.conn.Close()
			again := srv.next()
			var held []agentproto.TaskStatus
			for _, s := range again.hello.Tasks {
				if s.TaskArn == arn {
					held = append(held, s)
				}
			}
			switch {
			case tt.creates == 0 && len(held) != 0:
				t.Errorf("the agent holds the task it was told to stop before it had it: %+v", held)
			case tt.creates == 1 && (len(held) != 1 || held[0].LastStatus != "STOPPED"):
				t.Errorf("the agent holds %+v, want the task once, STOPPED", held)
			}
			again.welcome()
			// Its report of every task it holds, then the marker's
			// acknowledgement.
			again.send(agentproto.TypePayload, payload("marker", stopOf(testTask("0000000000000000000000000000000b"))))
			for _, m := range again.until("the marker acknowledged", acked("marker")) {
				if m.Change.Task == arn && m.Change.Status != "STOPPED" {
					t.Errorf("the agent reports the task %s", m.Change.Status)
				}
			}
			if n := eng.Calls("ContainerCreate"); n != tt.creates {
				t.Errorf("containers created: %d, want %d", n, tt.creates)
			}
		})
	}
}
