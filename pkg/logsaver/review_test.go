package logsaver

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/logtest"
	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
	"github.com/podkit/podkit/pkg/logsaver/format"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// BatchWait holds a small batch back for more lines: reads of a few lines
// each go into one batch, not one batch per read. (A batch's first record
// set cur.first in add, so read never set due, and every read was sent at
// once.)
func TestBatchWaitJoinsReads(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path := filepath.Join(dir, "app.log")
	const n = 2000
	w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: n})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Reads of 1 KiB (about 10 lines); a batch of 1 MiB takes all 2000.
	s, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond, MaxLineBytes: 1 << 10, ReadBufferBytes: 1 << 10},
		StateDir: filepath.Join(dir, "state"), Sinks: []string{srv.URL}, BatchWait: time.Hour,
	})
	for i := 0; ; i++ {
		if st := s.tailer.Stats(); len(st.Cursors) == 1 && st.Cursors[0].Lines == n {
			break
		}
		if i == 3000 {
			t.Fatal("the lines were not read in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // the drain sends what the batch holds
	if r := rc.Tally.Check("app.log", 1, n); !r.Lossless() {
		t.Fatal(r)
	}
	if b := rc.Batches.Load(); b > 2 {
		t.Errorf("%d batches for %d lines read 10 at a time with BatchWait 1h: BatchWait is not applied", b, n)
	}
}

// Settings a decoder refuses are refused by New: decoders are made lazily,
// per file, and one that cannot be made leaves that file's lines unsent.
func TestNewChecksDecoderSettings(t *testing.T) {
	dir := t.TempDir()
	base := Config{Tail: tail.Config{Paths: []string{filepath.Join(dir, "*.log")}}, StateDir: dir, Sinks: []string{"stdout"}}
	for name, mod := range map[string]func(*Config){
		"negative multiline timeout": func(c *Config) { c.MultilineTimeout = -time.Second },
		"unknown format":             func(c *Config) { c.Format = format.Format(200) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mod(&cfg)
			if s, err := New(cfg); err == nil {
				s.closeSinks()
				t.Fatal("New accepted it")
			}
		})
	}
}

// copytruncate while a multiline entry is pending: the copy takes over the
// truncated generation's positions and the lines after them are read from
// the copy. The checkpoint must not pass the pending entry (held by the old
// generation's decoder) before that entry is delivered: a kill -9 then
// would lose it.
func TestCopyTruncateWithPendingEntry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	first := "START 1\n  a\n  b\n"
	if err := os.WriteFile(path, []byte(first), 0o644); err != nil {
		t.Fatal(err)
	}
	out, state := filepath.Join(dir, "out"), filepath.Join(dir, "state")
	s, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path + "*"}, PollInterval: 20 * time.Millisecond, RotateWait: time.Second},
		StateDir: state, Sinks: []string{"file://" + out}, BatchWait: 10 * time.Millisecond,
		MultilineStart: regexp.MustCompile(`^START`), MultilineTimeout: time.Hour,
	})
	for i := 0; ; i++ {
		if st := s.tailer.Stats(); len(st.Cursors) == 1 && st.Cursors[0].Lines == 3 {
			break
		}
		if i == 3000 {
			t.Fatal("the lines were not read in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// logrotate copytruncate: the copy also has lines not read yet.
	if err := os.WriteFile(path+".1", []byte(first+"START 2\n  c\nSTART 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		saved := peekCheckpoint(t, state)
		var off int64
		for _, es := range saved {
			for _, e := range es {
				if e.Path == path+".1" {
					off = e.Offset
				}
			}
		}
		if off > 0 {
			if !strings.Contains(readDir(t, out), "START 1") {
				t.Fatalf("the checkpoint of the copy is at %d, past the entry at 0 that was not delivered", off)
			}
			break
		}
		if i == 1000 {
			t.Fatalf("the copy's checkpoint did not move in 10s: %+v", s.tailer.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if got := readDir(t, out); !strings.Contains(got, "START 1") || !strings.Contains(got, "START 2") {
		t.Fatalf("after the stop: %q", got)
	}
}

// peekCheckpoint reads the running saver's checkpoint without a second
// Store: Store.Load clears temp files, and would remove the one the
// saver is about to rename into place.
func peekCheckpoint(t *testing.T, dir string) map[string][]checkpoint.Entry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, checkpoint.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	saved, err := checkpoint.Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

func readDir(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// copytruncate leaves the original empty until the app writes again; the
// checkpoint must still be saved meanwhile (an entry without fingerprint
// bytes is refused by checkpoint.Save, which failed every save, for every
// sink, until the file grew again).
func TestCheckpointSavedWhileAFileIsEmpty(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path, other, state := filepath.Join(dir, "app.log"), filepath.Join(dir, "other.log"), filepath.Join(dir, "state")
	w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: 100})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{filepath.Join(dir, "*.log")}, PollInterval: 20 * time.Millisecond},
		StateDir: state, Sinks: []string{srv.URL}, BatchWait: 10 * time.Millisecond,
	})
	waitCount(t, rc.Tally, "app.log", 100)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if st := s.tailer.Stats(); len(st.Files) == 1 && st.Files[0].Size == 0 {
			break
		}
		if i == 3000 {
			t.Fatal("the truncation was not seen in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w, _ = logtest.NewWriter(logtest.WriterConfig{Path: other, Lines: 100})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitCount(t, rc.Tally, "other.log", 100)
	stop()
	if n := s.saves.failed.Load(); n != 0 {
		t.Errorf("%d checkpoint saves failed", n)
	}
	fi, _ := os.Stat(other)
	st, _ := checkpoint.New(checkpoint.Config{Dir: state})
	saved, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, es := range saved {
		for _, e := range es {
			if e.Path == other && e.Offset == fi.Size() {
				return
			}
		}
	}
	t.Fatalf("no checkpoint of %s at its end (%d): %+v", other, fi.Size(), saved)
}

// A save that fails (here: a directory where the checkpoint file goes) is
// tried again on its own: on a quiet log no later ack would trigger it,
// and a restart would repeat everything since the last good save.
func TestFailedCheckpointSaveIsRetried(t *testing.T) {
	dir := t.TempDir()
	path, out, state := filepath.Join(dir, "app.log"), filepath.Join(dir, "out"), filepath.Join(dir, "state")
	s, stop := runSaver(t, Config{
		Tail:     tail.Config{Paths: []string{path}, PollInterval: 20 * time.Millisecond},
		StateDir: state, Sinks: []string{"file://" + out}, BatchWait: 10 * time.Millisecond,
	})
	for i := 0; s.Ready() != nil; i++ {
		if i == 3000 {
			t.Fatal("not ready in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After the start, which loads the checkpoint and would stop at it.
	if err := os.MkdirAll(filepath.Join(state, checkpoint.FileName, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; s.saves.failed.Load() == 0; i++ {
		if i == 3000 {
			t.Fatal("no save failed in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.RemoveAll(filepath.Join(state, checkpoint.FileName)); err != nil {
		t.Fatal(err)
	}
	for i := 0; s.saves.ok.Load() == 0; i++ {
		if i == 3000 {
			t.Fatal("the failed save was not retried in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	for _, es := range peekCheckpoint(t, state) {
		for _, e := range es {
			if e.Path == path && e.Offset == 8 {
				return
			}
		}
	}
	t.Fatalf("no checkpoint at the end of %s: %+v", path, peekCheckpoint(t, state))
}
