package demo

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/demo/stopsignal"
)

// A SIGTERM that comes while the binary is still starting, before the mode
// runs, is kept from the start of the process (stopsignal) and stops the
// mode as soon as it runs: exit 0 and a line, not Go's exit 2.
func TestASIGTERMBeforeTheModeRunsStopsIt(t *testing.T) {
	stopsignal.Catch()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"sleep", "30"}, &out, &out); code != ExitOK || !strings.Contains(out.String(), "received SIGTERM, stopping") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
	if stopsignal.Take() != nil {
		t.Error("Run left the early signals for another to take")
	}
}
