// Package demo is the program of the berth/demo image: one binary with the
// behaviours a class or an example needs from a container. The image's
// entrypoint is `/berth demo`, so a task definition's `command` picks the
// mode: `"command": ["sleep", "30"]` runs `berth demo sleep 30`.
//
//	serve [--port 8080] [--env-prefix P]  HTTP page describing the task (default mode)
//	probe URL [--timeout 5s]              exit 0 if GET URL answers 2xx, else 1
//	fetch URL [--pretty] [--timeout 10s]  print the body of GET URL ($VARS expanded)
//	sleep DURATION|SECONDS|infinity [--ignore-sigterm]
//	exit CODE [--after DURATION]          exit with CODE (0-255)
//	cpu [--seconds N] [--workers N]       burn CPU
//	mem SIZE [--step SIZE] [--hold]       allocate and touch SIZE of memory
//	write PATH TEXT...                    write TEXT to PATH (volume demos)
//	read PATH [--wait DURATION]           print PATH, waiting for it to appear
//	echo ARGS...                          print ARGS
//	env                                   print the environment, sorted
//	lines COUNT [--width 100]             print COUNT numbered lines of --width bytes
//
// Every mode says what it does on stdout, and stops promptly with exit code
// 0 on SIGTERM or SIGINT, except `sleep --ignore-sigterm`, which ignores
// SIGTERM to show the engine's SIGKILL after the stop timeout. Exit codes:
//
//	0  done, or stopped by a signal
//	1  the thing checked failed: probe or fetch got no 2xx, fetch's URL
//	   names an unset variable, read found no file, write or an
//	   allocation failed
//	2  usage: unknown mode, bad argument or flag
//	N  exit CODE exits with CODE
//
// Sizes (mem) are a number with an optional unit b, k, m, g or t, in powers
// of 1024 as Docker's memory flags are: 64m, 1.5g, 512MiB, 1048576.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/berthdev/berth/demo/stopsignal"
)

// Exit codes shared by every mode.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// mode is one behaviour of the demo program.
type mode struct {
	name  string
	usage string
	run   func(ctx context.Context, p *proc, args []string) int
}

func modes() []mode {
	return []mode{
		{"serve", "serve [--port 8080] [--env-prefix PREFIX]", runServe},
		{"probe", "probe URL [--timeout 5s]", runProbe},
		{"fetch", "fetch URL [--pretty] [--timeout 10s]", runFetch},
		{"sleep", "sleep DURATION|SECONDS|infinity [--ignore-sigterm]", runSleep},
		{"exit", "exit CODE [--after DURATION]", runExit},
		{"cpu", "cpu [--seconds N] [--workers N]", runCPU},
		{"mem", "mem SIZE [--step SIZE] [--hold]", runMem},
		{"write", "write PATH TEXT...", runWrite},
		{"read", "read PATH [--wait DURATION]", runRead},
		{"echo", "echo ARGS...", runEcho},
		{"env", "env", runEnv},
		{"lines", "lines COUNT [--width 100]", runLines},
	}
}

// proc is what a mode needs from the process around it.
type proc struct {
	stdout, stderr io.Writer
	// ignoreTERM, once set, makes SIGTERM a message instead of a stop.
	ignoreTERM atomic.Bool
}

func (p *proc) printf(format string, args ...any) {
	fmt.Fprintf(p.stdout, "demo: "+format+"\n", args...)
}

// usageError reports a usage problem of mode name and returns ExitUsage.
func (p *proc) usageError(name, format string, args ...any) int {
	usage := name
	for _, m := range modes() {
		if m.name == name {
			usage = m.usage
		}
	}
	fmt.Fprintf(p.stderr, "demo %s: %s\nusage: berth demo %s\n", name, fmt.Sprintf(format, args...), usage)
	return ExitUsage
}

// Run runs the demo program with args (the mode and its arguments) and
// returns its exit code. It stops the mode on SIGTERM or SIGINT.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The signal watcher below prints while the mode does: one lock over
	// both writers keeps each write whole, also where the caller hands the
	// same writer for both.
	var mu sync.Mutex
	stdout, stderr = &lockedWriter{mu: &mu, w: stdout}, &lockedWriter{mu: &mu, w: stderr}
	p := &proc{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return ExitOK
	}
	var m mode
	for _, candidate := range modes() {
		if candidate.name == args[0] {
			m = candidate
		}
	}
	if m.run == nil {
		fmt.Fprintf(stderr, "demo: unknown mode %q\n", args[0])
		printUsage(stderr)
		return ExitUsage
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	signals := stopsignal.Take()
	if signals == nil {
		signals = make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	}
	defer signal.Stop(signals)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-signals:
				if sig == syscall.SIGTERM && p.ignoreTERM.Load() {
					p.printf("received %s, ignoring it", signalName(sig))
					continue
				}
				p.printf("received %s, stopping", signalName(sig))
				cancel()
				return
			}
		}
	}()
	return m.run(ctx, p, args[1:])
}

// lockedWriter serialises the writes of a mode and its signal watcher.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: berth demo MODE [ARGS...]  (no mode: serve)")
	for _, m := range modes() {
		fmt.Fprintln(w, "  "+m.usage)
	}
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}

// parseArgs parses fs's flags anywhere among args, so `sleep 30
// --ignore-sigterm` and `sleep --ignore-sigterm 30` both work, and returns
// the positional arguments. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errors.New("help requested")
			}
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlags returns a flag set for mode m.
func newFlags(m string) *flag.FlagSet {
	return flag.NewFlagSet(m, flag.ContinueOnError)
}

func runEcho(_ context.Context, p *proc, args []string) int {
	fmt.Fprintln(p.stdout, strings.Join(args, " "))
	return ExitOK
}

func runEnv(_ context.Context, p *proc, args []string) int {
	if len(args) > 0 {
		return p.usageError("env", "takes no arguments")
	}
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Fprintln(p.stdout, kv)
	}
	return ExitOK
}
