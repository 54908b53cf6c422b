package agent_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/system"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine/enginetest"
)

// A caller that has just asked the engine for its info (berth run, for the
// placement) hands it to New, which then does not ask again and takes the
// engine's properties from it.
func TestNewTakesTheEngineInfoItIsGiven(t *testing.T) {
	for _, tc := range []struct {
		name       string
		info       *system.Info
		wantCalls  int
		wantDriver string
	}{
		{name: "none given: New asks the engine", wantCalls: 1, wantDriver: "cgroupfs"},
		{name: "given: New asks nothing", info: &system.Info{CgroupDriver: "systemd", CgroupVersion: "2"}, wantCalls: 0, wantDriver: "systemd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := enginetest.New(clock.NewManual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)))
			bin, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			a, err := agent.New(context.Background(), agent.Config{
				Docker:             eng,
				Cluster:            "info",
				BinaryPath:         bin,
				CgroupRoot:         t.TempDir(),
				NoMetadataEndpoint: true,
				Info:               tc.info,
				Logf:               t.Logf,
			})
			if err != nil {
				t.Fatalf("new agent: %v", err)
			}
			defer a.Close()
			if got := eng.Calls("Info"); got != tc.wantCalls {
				t.Errorf("the engine was asked for its info %d times, want %d", got, tc.wantCalls)
			}
			if got := a.CgroupDriver(); got != tc.wantDriver {
				t.Errorf("cgroup driver %q, want %q", got, tc.wantDriver)
			}
		})
	}
}
