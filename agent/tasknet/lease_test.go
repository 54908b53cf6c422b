package tasknet

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// leaseNetwork is a task network of its own name on a client that is
// never called: the lease needs only the engine's address.
func leaseNetwork(t *testing.T) *Network {
	t.Helper()
	api, err := client.NewClientWithOpts(client.WithHost("unix:///nonexistent/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return New(api, Config{Name: "lease-test-" + randHex(6)})
}

// Removal takes turns with joining: a network a pause container is joining
// is not removed, joins do not wait for each other, and a join waits for a
// removal under way (or for its context to end).
func TestTaskNetworkRemovalWaitsForNobodyAndTakesNoJoinersNetwork(t *testing.T) {
	n := leaseNetwork(t)
	ctx := context.Background()
	leave1, err := n.Join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leave2, err := n.Join(ctx)
	if err != nil {
		t.Fatalf("a second join waited for the first: %v", err)
	}
	if _, ok := n.tryRemoval(); ok {
		t.Fatal("the network was removable while two pause containers joined it")
	}
	leave1()
	if _, ok := n.tryRemoval(); ok {
		t.Fatal("the network was removable while a pause container joined it")
	}
	leave2()
	release, ok := n.tryRemoval()
	if !ok {
		t.Fatal("nobody joins the network, yet it could not be removed")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := n.Join(short); err == nil {
		t.Error("a join went ahead during the removal")
	}
	release()
	if leave, err := n.Join(ctx); err != nil {
		t.Errorf("a join after the removal: %v", err)
	} else {
		leave()
	}
}
