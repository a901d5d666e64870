package logsaver

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/logtest"
	"github.com/podkit/podkit/pkg/logsaver/format"
	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// runSaver runs a Saver until stop is called; stop waits for its drain.
func runSaver(t *testing.T, cfg Config) (s *Saver, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func waitCount(t *testing.T, tally *logtest.Tally, src string, n int) {
	t.Helper()
	for i := 0; tally.Count(src) < n; i++ {
		if i == 3000 {
			t.Fatalf("%d of %d lines of %s arrived in 30s", tally.Count(src), n, src)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every rotation kind, while lines are written, to the http sink: every
// line arrives.
func TestRotationsLoseNothing(t *testing.T) {
	for _, rot := range []logtest.Rotation{logtest.RotateRename, logtest.RotateCopyTruncate, logtest.RotateDelete} {
		t.Run(string(rot), func(t *testing.T) {
			dir := t.TempDir()
			rc := logtest.NewReceiver()
			srv := httptest.NewServer(rc)
			defer srv.Close()
			path := filepath.Join(dir, "app.log")
			_, stop := runSaver(t, Config{
				Tail:     tail.Config{Paths: []string{path + "*"}, PollInterval: 20 * time.Millisecond, RotateWait: 200 * time.Millisecond},
				StateDir: filepath.Join(dir, "state"), Sinks: []string{srv.URL}, BatchWait: 20 * time.Millisecond,
			})
			w, err := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: 20000, Rate: 40000, Rotate: rot, EveryLines: 2000, Keep: 20})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitCount(t, rc.Tally, "app.log", 20000)
			stop()
			if r := rc.Tally.Check("app.log", 1, 20000); !r.Lossless() {
				t.Fatalf("%v (rotated %d times)", r, w.Rotated)
			} else {
				t.Logf("%v", r)
			}
		})
	}
}

// A stop in the middle of a stream, then a restart from the checkpoint:
// nothing is lost, and only lines not yet acknowledged repeat.
func TestRestartFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path := filepath.Join(dir, "app.log")
	cfg := Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond},
		StateDir: filepath.Join(dir, "state"), Sinks: []string{srv.URL}, BatchWait: 10 * time.Millisecond,
	}
	w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: 30000, Rate: 30000})
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(context.Background()) }()
	for round := range 3 {
		_, stop := runSaver(t, cfg)
		time.Sleep(time.Duration(100+round*70) * time.Millisecond)
		stop()
	}
	if err := <-wdone; err != nil {
		t.Fatal(err)
	}
	_, stop := runSaver(t, cfg)
	waitCount(t, rc.Tally, "app.log", 30000)
	stop()
	r := rc.Tally.Check("app.log", 1, 30000)
	if !r.Lossless() {
		t.Fatal(r)
	}
	// A graceful stop acknowledges what it sent: nothing repeats.
	if r.Duplicates != 0 {
		t.Errorf("graceful restarts repeated lines: %v", r)
	}
}

// The sink is down for a while: reading pauses at the buffer bound, and
// the backlog drains when it is back.
func TestSinkOutage(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path := filepath.Join(dir, "app.log")
	s, _ := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond, MaxLineBytes: 8 << 10},
		StateDir: filepath.Join(dir, "state"), Sinks: []string{srv.URL + "?backoff-base=10ms&backoff-max=100ms"},
		BatchBytes: 16 << 10, MaxBufferBytes: 64 << 10, BatchWait: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	rc.Down(503)
	w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: 20000})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// While down, the pipeline holds at most its buffer.
	for i := 0; rc.Rejected.Load() < 5; i++ {
		if i == 1000 {
			t.Fatal("no retries while the sink is down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The bound, plus the batch being built from one read of 16 KiB of
	// lines (NDJSON adds about 1.5 times their size).
	if b := s.pipelines[0].buffered.Load(); b > 64<<10+3*16<<10 {
		t.Errorf("%d bytes buffered while the sink is down, bound 64 KiB + a batch", b)
	}
	rc.Up()
	waitCount(t, rc.Tally, "app.log", 20000)
	if r := rc.Tally.Check("app.log", 1, 20000); !r.Lossless() {
		t.Fatal(r)
	}
}

// SIGTERM right after the app's last line (a native sidecar stops after
// the app): what the files hold is shipped before Run returns.
func TestStopDrainsFiles(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path := filepath.Join(dir, "app.log")
	w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: 50000})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond},
		StateDir: filepath.Join(dir, "state"), Sinks: []string{srv.URL}, BatchBytes: 64 << 10, DrainTimeout: 20 * time.Second,
	})
	for s.Ready() != nil {
		time.Sleep(time.Millisecond)
	}
	stop() // at once: most lines are still unread
	if r := rc.Tally.Check("app.log", 1, 50000); !r.Lossless() {
		t.Fatalf("after the stop: %v", r)
	}
}

// --format cri through the whole pipeline: partial lines joined, the
// runtime's fields in the record, labels added.
func TestCRIFormatToFileSink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	os.WriteFile(path, []byte("2026-11-29T10:00:00.000000001Z stdout P hello \n"+
		"2026-11-29T10:00:00.000000002Z stdout F world\n"+
		"2026-11-29T10:00:00.000000003Z stderr F oops\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond},
		StateDir: filepath.Join(dir, "state"), Sinks: []string{"file://" + out}, Format: format.CRI,
		Labels: []record.Label{{Name: "app", Value: "web"}},
	})
	var recs []map[string]any
	for i := 0; len(recs) < 2; i++ {
		if i == 1000 {
			t.Fatalf("records: %v", recs)
		}
		time.Sleep(10 * time.Millisecond)
		recs = recs[:0]
		files, _ := filepath.Glob(filepath.Join(out, "*"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) == nil {
					recs = append(recs, m)
				}
			}
		}
	}
	stop()
	if recs[0]["line"] != "hello world" || recs[0]["stream"] != "stdout" || recs[0]["app"] != "web" || recs[0]["offset"] != 0.0 {
		t.Errorf("first record %v: want the partial lines joined, its stream and the label", recs[0])
	}
	if recs[1]["line"] != "oops" || recs[1]["stream"] != "stderr" {
		t.Errorf("second record %v", recs[1])
	}
}
