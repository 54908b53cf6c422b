package dockerhost

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// commandConn is a connection over a process's standard input and output:
// what is written goes to its input, what it prints is read. What it says
// on its standard error (ssh's own complaints) makes the error of a
// connection that ends because the process failed.
type commandConn struct {
	name   string // the engine, for errors and addresses
	cmd    *exec.Cmd
	stdin  *os.File // the write end of the process's input
	stdout *os.File // the read end of its output
	stderr *tailBuffer

	// done is closed once the process has ended, with waitErr.
	done    chan struct{}
	waitErr error

	mu          sync.Mutex
	closed      bool // by Close
	inputClosed bool // by CloseWrite or Close
}

// startCommand starts args, its standard input and output a connection to
// engine name.
func startCommand(name string, args []string) (net.Conn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	c := &commandConn{name: name, stdin: inW, stdout: outR, stderr: &tailBuffer{max: 4 << 10}, done: make(chan struct{})}
	c.cmd = exec.Command(args[0], args[1:]...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, c.stderr
	// Its own process group: a Ctrl-C at the terminal is berth's to act
	// on (it ends its connections itself), not a signal that cuts the
	// engine off under it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// What ssh starts itself (a ProxyCommand) may hold its standard error
	// after it ended: its end is not waited for long.
	c.cmd.WaitDelay = time.Second
	err = c.cmd.Start()
	// The child has its ends; these are its.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("connect to the engine at %s: %w", name, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exitWait bounds the wait for the process to end once its output has:
// ssh that closed its output is ending.
const exitWait = 10 * time.Second

// ended turns the error of a read or write on a pipe into the
// connection's: io.EOF when it was closed or the process ended well, else
// what the process said as it failed.
func (c *commandConn) ended(err error) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	select {
	case <-c.done:
	case <-time.After(exitWait):
		return err
	}
	if c.waitErr == nil {
		return io.EOF
	}
	msg := strings.TrimSpace(c.stderr.String())
	if msg == "" {
		return fmt.Errorf("the connection to the engine at %s ended: %s: %v", c.name, strings.Join(c.cmd.Args, " "), c.waitErr)
	}
	return fmt.Errorf("the connection to the engine at %s ended: %s: %v: %s", c.name, strings.Join(c.cmd.Args, " "), c.waitErr, msg)
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil {
		err = c.ended(err)
	}
	return n, err
}

func (c *commandConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		err = c.ended(err)
	}
	return n, err
}

// CloseWrite ends the process's input; what it still prints can be read.
// The Docker client closes the write side of an attach's stream with it.
func (c *commandConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inputClosed {
		return nil
	}
	c.inputClosed = true
	return c.stdin.Close()
}

// Close ends the connection and its process.
func (c *commandConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if !c.inputClosed {
		c.inputClosed = true
		c.stdin.Close()
	}
	c.mu.Unlock()
	c.stdout.Close()
	select {
	case <-c.done:
	default:
		// The process and whatever it started, its group.
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
	return nil
}

func (c *commandConn) LocalAddr() net.Addr  { return engineAddr(c.name) }
func (c *commandConn) RemoteAddr() net.Addr { return engineAddr(c.name) }

func (c *commandConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *commandConn) SetReadDeadline(t time.Time) error  { return c.stdout.SetReadDeadline(t) }
func (c *commandConn) SetWriteDeadline(t time.Time) error { return c.stdin.SetWriteDeadline(t) }

// engineAddr is the address of a connection to an engine: its DOCKER_HOST.
type engineAddr string

func (a engineAddr) Network() string { return "ssh" }
func (a engineAddr) String() string  { return string(a) }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
