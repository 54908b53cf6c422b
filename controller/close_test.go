package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
)

// Close returns while the tasks RunTask has just recorded are still on
// their way to the engine: once it has closed the agents it had, it starts
// none for them, which nothing would close. Each round closes the
// controller at once after a RunTask, when its task is most likely still
// on its way.
func TestCloseReturnsWhileTasksAreOnTheirWayToTheEngine(t *testing.T) {
	for round := range 20 {
		ctl, _, _ := memoryEC2Cluster(t)
		out, err := ctl.RunTask(context.Background(), &api.RunTaskInput{Cluster: "class", TaskDefinition: "app", LaunchType: "EC2"})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("round %d: RunTask: %v, %+v", round, err, out)
		}
		closed := make(chan struct{})
		go func() {
			ctl.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: Close has not returned after a minute", round)
		}
	}
}
