package hostagent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/engine/enginetest"
)

// The state directory is the instance's identity: kept whole, read back,
// and refused for another cluster before anything is asked of the server
// or the engine, so an agent never becomes another cluster's instance by a
// wrong flag.
func TestTheStateDirectoryKeepsTheInstancesIdentity(t *testing.T) {
	dir := t.TempDir()
	if id, err := readIdentity(dir); err != nil || id.ContainerInstanceArn != "" {
		t.Fatalf("a new directory: %+v %v", id, err)
	}
	want := identity{ContainerInstanceArn: "arn:aws:ecs:us-east-1:000000000000:container-instance/lab/0123", Cluster: "lab"}
	if err := writeIdentity(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := readIdentity(dir); err != nil || got != want {
		t.Fatalf("read back %+v %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, Config{Server: "http://127.0.0.1:1", Cluster: "other", Docker: enginetest.New(nil), StateDir: dir})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "instance "+want.ContainerInstanceArn+" of cluster lab, not of other") {
		t.Errorf("another cluster: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readIdentity(dir); err == nil || !strings.Contains(err.Error(), "is not berth agent's") {
		t.Errorf("a spoilt identity: %v", err)
	}
}
