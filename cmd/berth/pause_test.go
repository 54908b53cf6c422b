package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envReapChild runs TestReapChildrenCollectsExitedChildren's body in a
// process of its own: reaping collects every child of the process, and
// other tests' children must not be among them.
const envReapChild = "BERTH_TEST_REAP_CHILD"

func TestReapChildrenCollectsExitedChildren(t *testing.T) {
	if os.Getenv(envReapChild) == "1" {
		reapChildInThisProcess(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReapChildrenCollectsExitedChildren$", "-test.v")
	cmd.Env = append(os.Environ(), envReapChild+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reaping in a child process: %v\n%s", err, out)
	}
}

func reapChildInThisProcess(t *testing.T) {
	child := exec.Command("true")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := child.Process.Pid
	// Wait for the child to become a zombie: exited, not yet collected.
	for processState(pid) != "Z" {
		time.Sleep(time.Millisecond)
	}
	reapChildren()
	if state := processState(pid); state != "" {
		t.Fatalf("child %d is still in state %q after reaping", pid, state)
	}
	if _, err := syscall.Wait4(pid, nil, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
		t.Fatalf("wait for child %d after reaping: %v, want ECHILD", pid, err)
	}
}

// processState returns the state letter of pid from /proc, "" when gone.
func processState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// "PID (COMM) STATE ...": COMM may hold spaces, so cut after the last ')'.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}
