package console

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPrinterPadsPrefixesToTheLongestName(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, []string{"app", "sidecar"}, false)
	p.Line("app", "hello")
	p.Line("sidecar", "ready")
	want := "app     | hello\nsidecar | ready\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestCopyPrintsEveryLineIncludingAnUnterminatedLast(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, []string{"a"}, false)
	if err := p.Copy("a", strings.NewReader("one\r\ntwo\nthree")); err != nil {
		t.Fatal(err)
	}
	if want := "a | one\na | two\na | three\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestConcurrentWritersNeverSplitALine(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, []string{"a", "b"}, true)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Copy(name, strings.NewReader(strings.Repeat(name+name+name+"\n", 500)))
		}()
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasSuffix(line, " aaa") && !strings.HasSuffix(line, " bbb") {
			t.Fatalf("a line was split or mixed: %q", line)
		}
	}
}

func TestCopyPrintsAnOverlongLineInPiecesAndGoesOn(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, []string{"a"}, false)
	long := strings.Repeat("x", maxLine+10)
	if err := p.Copy("a", strings.NewReader(long+"\nafter\n")); err != nil {
		t.Fatal(err)
	}
	want := "a | " + long[:maxLine] + "\na | " + long[maxLine:] + "\na | after\n"
	if out.String() != want {
		t.Errorf("got %d bytes, want %d: the long line was lost or the rest dropped", out.Len(), len(want))
	}
}

func TestStampBeginsOnlyThePrefixsLinesWithTheTimeInUTC(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, []string{"web", "berth"}, false)
	p.Line("berth", "before")
	at := time.Date(2026, 11, 27, 10, 4, 5, 60_000_000, time.FixedZone("CET", 3600))
	p.Stamp("berth", func() time.Time { return at })
	p.Line("berth", "task RUNNING")
	p.Line("web", "hello")
	want := "berth | before\nberth | 2026-11-27T09:04:05.060Z task RUNNING\nweb   | hello\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
