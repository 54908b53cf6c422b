// Package stopsignal catches SIGTERM and SIGINT from the very start of a
// process that runs as the demo image's entrypoint (`/berth demo …`).
//
// A task stopped right after its container starts sends SIGTERM while the
// berth binary is still initialising its packages. Until a handler is in
// place, Go's runtime answers SIGTERM with exit 2 and says nothing (as PID
// 1 of a container, its re-raise of the signal is ignored), where the demo
// promises exit 0 and a line. This package imports nothing but what
// catching a signal needs, so Go initialises it as soon as os/signal is,
// before the binary's heavier packages; the demo's Run takes the signals
// over.
package stopsignal

import (
	"os"
	"os/signal"
	"syscall"
)

var early chan os.Signal

func init() {
	if len(os.Args) > 1 && os.Args[1] == "demo" {
		Catch()
	}
}

// Catch starts catching SIGTERM and SIGINT for Take, as the package's
// init does for a demo entrypoint.
func Catch() {
	early = make(chan os.Signal, 2)
	signal.Notify(early, syscall.SIGTERM, syscall.SIGINT)
}

// Take returns the channel that has caught SIGTERM and SIGINT since the
// process started, or nil when the process is no demo entrypoint or the
// channel was taken already. The caller stops it with signal.Stop.
func Take() chan os.Signal {
	c := early
	early = nil
	return c
}
