// Package crashpoint lets berth's restart tests kill a berth process at a
// named point of its work, where a kill from outside could only land by
// chance: the process whose BERTH_CRASH_AT names a point sends itself
// SIGKILL the first time it reaches it. Unset (as it is outside those
// tests), Reach does nothing.
//
// The points:
//
//	before-commit  RunTask has placed its tasks and not yet recorded them
//	after-create   the agent has created a task's container, not yet started it
//	after-start    the engine has started a task's container, before the agent hears of it
package crashpoint

import (
	"os"
	"sync"
	"syscall"
)

// Env names the point the process dies at.
const Env = "BERTH_CRASH_AT"

// The points berth reaches.
const (
	BeforeCommit = "before-commit"
	AfterCreate  = "after-create"
	AfterStart   = "after-start"
)

var at = sync.OnceValue(func() string { return os.Getenv(Env) })

// Reach kills the process at once, as SIGKILL does, when point is the one
// BERTH_CRASH_AT names.
func Reach(point string) {
	if at() != point {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal ends the process before anything else runs
}
