package demo

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// parseDuration accepts a Go duration ("1m30s") or a plain number of
// seconds ("30", "0.5"), the way sleep(1) does.
func parseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 || math.IsNaN(secs) || secs > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("duration %q: must be between 0 and %d seconds", s, math.MaxInt64/int64(time.Second))
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want seconds (30) or a Go duration (1m30s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q: must not be negative", s)
	}
	return d, nil
}

// wait waits for d, or forever when d is negative, unless ctx ends first.
// It reports whether the whole wait passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d < 0 {
		<-ctx.Done()
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func runSleep(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("sleep")
	ignore := fs.Bool("ignore-sigterm", false, "ignore SIGTERM (the engine then kills with SIGKILL after the stop timeout)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("sleep", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("sleep", "want one DURATION, got %d arguments", len(pos))
	}
	d := time.Duration(-1)
	if pos[0] != "infinity" {
		if d, err = parseDuration(pos[0]); err != nil {
			return p.usageError("sleep", "%v", err)
		}
	}
	if *ignore {
		p.ignoreTERM.Store(true)
		p.printf("ignoring SIGTERM")
	}
	if d < 0 {
		p.printf("sleeping until stopped")
	} else {
		p.printf("sleeping %s", d)
	}
	if wait(ctx, d) {
		p.printf("slept %s, exiting %d", d, ExitOK)
	}
	return ExitOK
}

func runExit(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("exit")
	after := fs.String("after", "0", "wait this long before exiting")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("exit", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("exit", "want one CODE, got %d arguments", len(pos))
	}
	code, err := strconv.Atoi(pos[0])
	if err != nil || code < 0 || code > 255 {
		return p.usageError("exit", "CODE %q: must be a whole number from 0 to 255", pos[0])
	}
	d, err := parseDuration(*after)
	if err != nil {
		return p.usageError("exit", "--after: %v", err)
	}
	if d > 0 {
		p.printf("exiting with code %d in %s", code, d)
		if !wait(ctx, d) {
			return ExitOK
		}
	}
	p.printf("exiting with code %d", code)
	return code
}

func runCPU(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("cpu")
	seconds := fs.Float64("seconds", 0, "stop after this many seconds (0: until stopped)")
	workers := fs.Int("workers", runtime.NumCPU(), "busy goroutines")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("cpu", "%v", err)
	}
	if len(pos) != 0 {
		return p.usageError("cpu", "takes no arguments, got %q", pos)
	}
	if *workers < 1 {
		return p.usageError("cpu", "--workers: must be at least 1, got %d", *workers)
	}
	if *seconds < 0 || math.IsNaN(*seconds) {
		return p.usageError("cpu", "--seconds: must not be negative")
	}
	d := time.Duration(-1)
	if *seconds > 0 {
		d = time.Duration(*seconds * float64(time.Second))
		p.printf("burning CPU with %d workers for %s", *workers, d)
	} else {
		p.printf("burning CPU with %d workers until stopped", *workers)
	}

	var stop atomic.Bool
	var rounds atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 1.0
			for !stop.Load() {
				for range 100_000 {
					x = math.Sqrt(x*x + 1)
				}
				rounds.Add(1)
			}
			runtime.KeepAlive(x)
		}()
	}
	wait(ctx, d)
	stop.Store(true)
	wg.Wait()
	p.printf("burned %s of wall time on %d workers (%d rounds)", time.Since(start).Round(time.Millisecond), *workers, rounds.Load())
	return ExitOK
}

func runMem(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("mem")
	step := fs.String("step", "16m", "allocate this much at a time")
	hold := fs.Bool("hold", false, "keep the memory until stopped")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("mem", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("mem", "want one SIZE, got %d arguments", len(pos))
	}
	total, err := ParseSize(pos[0])
	if err != nil {
		return p.usageError("mem", "%v", err)
	}
	stepSize, err := ParseSize(*step)
	if err != nil {
		return p.usageError("mem", "--step: %v", err)
	}
	if stepSize == 0 {
		return p.usageError("mem", "--step: must be more than 0")
	}
	p.printf("allocating %s in steps of %s", FormatSize(total), FormatSize(stepSize))

	// Every page is written, so the memory is really resident and counts
	// against the container's limit: an untouched allocation would not.
	page := os.Getpagesize()
	var chunks [][]byte
	var done int64
	for done < total {
		if ctx.Err() != nil {
			return ExitOK
		}
		n := min(stepSize, total-done)
		chunk := make([]byte, n)
		for i := 0; i < len(chunk); i += page {
			chunk[i] = 1
		}
		chunks = append(chunks, chunk)
		done += n
		p.printf("allocated %s of %s", FormatSize(done), FormatSize(total))
	}
	if *hold {
		p.printf("holding %s until stopped", FormatSize(done))
		<-ctx.Done()
	}
	runtime.KeepAlive(chunks)
	return ExitOK
}

func runWrite(_ context.Context, p *proc, args []string) int {
	if len(args) < 2 {
		return p.usageError("write", "want PATH and TEXT, got %d arguments", len(args))
	}
	path, text := args[0], strings.Join(args[1:], " ")+"\n"
	if err := writeFileAtomic(path, []byte(text)); err != nil {
		fmt.Fprintf(p.stderr, "demo write: %v\n", err)
		return ExitFailed
	}
	p.printf("wrote %d bytes to %s", len(text), path)
	return ExitOK
}

// writeFileAtomic writes through a temporary file and a rename, so a reader
// in another container waiting for path never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readPoll is how often read looks for a file that is not there yet.
const readPoll = 100 * time.Millisecond

func runRead(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("read")
	waitFor := fs.String("wait", "0", "wait this long for PATH to appear")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("read", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("read", "want one PATH, got %d arguments", len(pos))
	}
	d, err := parseDuration(*waitFor)
	if err != nil {
		return p.usageError("read", "--wait: %v", err)
	}
	path := pos[0]
	if d > 0 {
		p.printf("waiting up to %s for %s", d, path)
	}
	deadline := time.Now().Add(d)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			p.printf("read %d bytes from %s", len(data), path)
			p.stdout.Write(data)
			return ExitOK
		}
		if !os.IsNotExist(err) {
			fmt.Fprintf(p.stderr, "demo read: %v\n", err)
			return ExitFailed
		}
		left := time.Until(deadline)
		if left <= 0 {
			fmt.Fprintf(p.stderr, "demo read: %s does not exist\n", path)
			return ExitFailed
		}
		if !wait(ctx, min(left, readPoll)) {
			return ExitOK
		}
	}
}

func runProbe(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("probe")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("probe", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("probe", "want one URL, got %d arguments", len(pos))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pos[0], nil)
	if err != nil {
		return p.usageError("probe", "URL %q: %v", pos[0], err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.printf("probe %s: %v", pos[0], err)
		return ExitFailed
	}
	resp.Body.Close()
	p.printf("probe %s: %s", pos[0], resp.Status)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ExitFailed
	}
	return ExitOK
}
