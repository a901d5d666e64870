package tail

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/logtest"
	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
)

// fast settings: real fsnotify, short poll and rotate waits (the tests
// wait for outcomes, never for durations).
func testConfig(paths ...string) Config {
	return Config{Paths: paths, PollInterval: 10 * time.Millisecond, RotateWait: 50 * time.Millisecond}
}

type harness struct {
	t      *testing.T
	tl     *Tailer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config, cursors map[string][]checkpoint.Entry, names ...string) (*harness, []*Cursor) {
	t.Helper()
	tl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cs []*Cursor
	for _, n := range names {
		c, err := tl.Cursor(n, cursors[n])
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{t: t, tl: tl, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- tl.Run(ctx) }()
	t.Cleanup(h.stop)
	return h, cs
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.done <- nil // idempotent
}

// collector reads a cursor, tallies every line, acks, and checks that
// sequence numbers increase within each file.
type collector struct {
	mu      sync.Mutex
	tally   *logtest.Tally
	lastSeq map[uint64]int64
	errs    []string
	lines   int
	foreign [][]byte
}

func newCollector() *collector {
	return &collector{tally: logtest.NewTally(), lastSeq: map[uint64]int64{}}
}

func (col *collector) add(ch *Chunk) {
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, r := range ch.Records {
		col.lines++
		_, seq, ok := logtest.Parse(r.Line)
		if !ok {
			col.foreign = append(col.foreign, bytes.Clone(r.Line))
			continue
		}
		if last := col.lastSeq[ch.File]; seq <= last && len(col.errs) < 10 {
			col.errs = append(col.errs, fmt.Sprintf("file %d: seq %d after %d", ch.File, seq, last))
		}
		col.lastSeq[ch.File] = seq
		col.tally.Add(r.Line)
	}
}

// run reads c until ctx ends, acking each chunk after tallying it.
func (col *collector) run(ctx context.Context, c *Cursor) {
	var ch Chunk
	for c.Read(ctx, &ch) == nil {
		col.add(&ch)
		c.Ack(ch.File, ch.End)
	}
}

// waitFor polls cond (bounded), failing the test with what() if it never
// holds.
func waitFor(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	for range 6000 { // 60s at most; normally a few ms
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out: %s", what())
}

func TestRotations(t *testing.T) {
	const lines = 30000
	for _, tc := range []struct {
		rot  logtest.Rotation
		glob string
		rate float64
	}{
		// With only "app.log" globbed, a file must live under that name
		// long enough to be seen (any path-based tailer's limit): the
		// writer rotates every 2500 lines at 100k lines/s, 25ms.
		{logtest.RotateRename, "app.log", 100_000},
		{logtest.RotateRename, "app.log*", 0},
		{logtest.RotateDelete, "app.log", 100_000},
		{logtest.RotateCopyTruncate, "app.log*", 0},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.rot, tc.glob), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			w, err := logtest.NewWriter(logtest.WriterConfig{Path: path, Source: "app", Lines: lines,
				Rotate: tc.rot, EveryLines: 2500, Keep: 50, Rate: tc.rate})
			if err != nil {
				t.Fatal(err)
			}
			h, cs := start(t, testConfig(filepath.Join(dir, tc.glob)), nil, "sink")
			col := newCollector()
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { col.run(ctx, cs[0]) })
			defer func() { cancel(); wg.Wait() }()
			if err := w.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() string { return col.tally.Check("app", 1, lines).String() + fmt.Sprintf(" %+v", h.tl.Stats()) },
				func() bool { return col.tally.Count("app") == lines })
			// Rotated files are let go once read and acknowledged.
			waitFor(t, func() string { return fmt.Sprintf("%+v", h.tl.Stats().Files) }, func() bool {
				for _, f := range h.tl.Stats().Files {
					if !f.Present {
						return false
					}
				}
				return true
			})
			cancel()
			wg.Wait()
			r := col.tally.Check("app", 1, lines)
			if !r.Lossless() || r.Duplicates != 0 || r.Unexpected != 0 {
				t.Errorf("%d rotations: %v", w.Rotated, r)
			}
			if len(col.errs) > 0 || len(col.foreign) > 0 {
				t.Errorf("out of order: %v; foreign lines: %q", col.errs, col.foreign)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// readLines reads chunks until n lines arrived (acking them).
func readLines(t *testing.T, c *Cursor, n int) (lines []string, chunks []Chunk) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for len(lines) < n {
		var ch Chunk
		if err := c.Read(ctx, &ch); err != nil {
			t.Fatalf("after %d lines %q: %v", len(lines), lines, err)
		}
		for _, r := range ch.Records {
			lines = append(lines, string(r.Line))
		}
		c.Ack(ch.File, ch.End)
		chunks = append(chunks, ch)
	}
	return lines, chunks
}

func TestPartialLineAndNewFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "*.log"))
	cfg.NoInotify = true // the polling fallback alone finds and follows files
	_, cs := start(t, cfg, nil, "s")
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, "one\ntw")
	got, _ := readLines(t, cs[0], 1)
	appendFile(t, a, "o\n")
	more, _ := readLines(t, cs[0], 1)
	writeFile(t, filepath.Join(dir, "b.log"), "b1\n")
	writeFile(t, filepath.Join(dir, "skip.txt"), "no\n")
	last, _ := readLines(t, cs[0], 1)
	got = append(append(got, more...), last...)
	if strings.Join(got, ",") != "one,two,b1" {
		t.Errorf("lines %q, want one, two, b1", got)
	}
}

func TestExclude(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "*.log"))
	cfg.Exclude = []string{"*debug*"}
	_, cs := start(t, cfg, nil, "s")
	writeFile(t, filepath.Join(dir, "x-debug.log"), "dropped\n")
	writeFile(t, filepath.Join(dir, "x.log"), "kept\n")
	got, _ := readLines(t, cs[0], 1)
	writeFile(t, filepath.Join(dir, "y.log"), "kept2\n")
	got2, _ := readLines(t, cs[0], 1)
	if got[0] != "kept" || got2[0] != "kept2" {
		t.Errorf("got %q %q", got, got2)
	}
}

func TestGiantLinesAndBinary(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		t.Run(fmt.Sprint("truncate=", truncate), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "*.log"))
			cfg.MaxLineBytes = 1000
			cfg.ReadBufferBytes = 1500
			cfg.TruncateLongLines = truncate
			h, cs := start(t, cfg, nil, "s")
			giant := strings.Repeat("g", 10_500)
			bin := string([]byte{0, 0xff, 0xfe, '\r', 0x80, 0x1b, '[', 'm'})
			writeFile(t, filepath.Join(dir, "a.log"), "short\n"+giant+"\n"+bin+"\nend\n")
			want := []string{"short"}
			if truncate {
				want = append(want, giant[:1000])
			} else {
				for i := 0; i < len(giant); i += 1000 {
					want = append(want, giant[i:min(i+1000, len(giant))])
				}
			}
			want = append(want, bin, "end")
			got, _ := readLines(t, cs[0], len(want))
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got %d lines, want %d", len(got), len(want))
			}
			st := h.tl.Stats().Cursors[0]
			if truncate && (st.Trunc != 1 || st.Split != 0) || !truncate && (st.Split != 10 || st.Trunc != 0) {
				t.Errorf("counts: split %d, truncated %d", st.Split, st.Trunc)
			}
		})
	}
}

// A file deleted while open (and never renamed) is read to its end,
// including a last line without '\n' once RotateWait passed, then closed.
func TestDeletedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	h, cs := start(t, testConfig(filepath.Join(dir, "*.log")), nil, "s")
	p := filepath.Join(dir, "a.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("1\n")
	readLines(t, cs[0], 1)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	f.WriteString("2\n3\nno newline")
	got, _ := readLines(t, cs[0], 3)
	if strings.Join(got, ",") != "2,3,no newline" {
		t.Errorf("got %q", got)
	}
	waitFor(t, func() string { return fmt.Sprintf("%+v", h.tl.Stats().Files) },
		func() bool { return len(h.tl.Stats().Files) == 0 })
}

// A file not acknowledged stays open after deletion, visible in Stats, and
// Rewind reads it again.
func TestRewindKeepsRotatedFileOpen(t *testing.T) {
	dir := t.TempDir()
	h, cs := start(t, testConfig(filepath.Join(dir, "*.log")), nil, "fast", "slow")
	p := filepath.Join(dir, "a.log")
	writeFile(t, p, "x1\nx2\n")
	got, _ := readLines(t, cs[0], 2)
	var ch Chunk
	if err := cs[1].Read(t.Context(), &ch); err != nil || len(ch.Records) != 2 {
		t.Fatalf("slow read: %v, %d records", err, len(ch.Records))
	}
	os.Remove(p)
	waitFor(t, func() string { return "deletion not seen" }, func() bool {
		s := h.tl.Stats()
		return len(s.Files) == 1 && !s.Files[0].Present && s.Files[0].Cursors[1].Pending == 6
	})
	cs[1].Rewind()
	again, _ := readLines(t, cs[1], 2)
	if strings.Join(got, ",") != "x1,x2" || strings.Join(again, ",") != "x1,x2" {
		t.Errorf("fast %q, slow after rewind %q", got, again)
	}
	waitFor(t, func() string { return "not closed" }, func() bool { return len(h.tl.Stats().Files) == 0 })
}

// A new file that got an old file's inode, with other content, is read
// from 0: the checkpoint entry names the fingerprint, not the inode.
func TestInodeReuse(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	writeFile(t, p, "old content 1\nold content 2\n")
	fi, _ := os.Stat(p)
	oldIno, _ := stat(fi)
	h, cs := start(t, testConfig(p), nil, "s")
	readLines(t, cs[0], 2)
	cp := cs[0].Checkpoint()
	if len(cp) != 1 || cp[0].Offset != 28 || cp[0].Ino != oldIno.ino {
		t.Fatalf("checkpoint %+v", cp)
	}
	h.stop()

	// Delete and recreate until the inode comes back (ext4 and tmpfs
	// reuse it at once; give up after a bound).
	reused := false
	for range 100 {
		os.Remove(p)
		writeFile(t, p, "new!\n")
		fi, _ := os.Stat(p)
		if id, _ := stat(fi); id == oldIno {
			reused = true
			break
		}
	}
	if !reused {
		t.Log("filesystem did not reuse the inode; checking a plain new file")
	}
	_, cs = start(t, testConfig(p), map[string][]checkpoint.Entry{"s": cp}, "s")
	got, _ := readLines(t, cs[0], 1)
	if got[0] != "new!" {
		t.Errorf("after inode reuse read %q, want the new file from 0", got)
	}
	// And a file grown past the old length with the same inode and
	// different bytes is still a new file.
	writeFile(t, p, strings.Repeat("z", 40)+"\n")
	got, _ = readLines(t, cs[0], 1)
	if got[0] != strings.Repeat("z", 40) {
		t.Errorf("rewritten in place: read %q", got)
	}
}

// Kill simulation: the tailer is stopped at random points (sometimes
// after delivering a chunk but before acking it) while a writer rotates;
// each restart begins from the last saved checkpoint. Every line arrives;
// duplicates are only lines delivered and not acked.
func TestRestartFromCheckpoint(t *testing.T) {
	const lines = 40000
	dir := t.TempDir()
	state := t.TempDir()
	store, err := checkpoint.New(checkpoint.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.log")
	w, err := logtest.NewWriter(logtest.WriterConfig{Path: path, Source: "app", Lines: lines,
		Rotate: logtest.RotateRename, EveryLines: 3000, Keep: 100, Rate: 200_000})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(t.Context())
	defer wcancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			t.Error(err)
		}
	})
	defer wg.Wait()

	tally := logtest.NewTally()
	rng := rand.New(rand.NewPCG(1, 2))
	var unacked int64
	for round := 0; tally.Count("app") < lines; round++ {
		if round > 2000 {
			t.Fatalf("no progress: %v", tally.Check("app", 1, lines))
		}
		cp, err := store.Load()
		if err != nil {
			t.Fatal(err)
		}
		h, cs := start(t, testConfig(path+"*"), cp, "s")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		for range rng.IntN(20) + 1 {
			var ch Chunk
			if err := cs[0].Read(ctx, &ch); err != nil {
				t.Fatal(err)
			}
			for _, r := range ch.Records {
				tally.Add(r.Line)
			}
			if rng.IntN(4) == 0 {
				unacked += int64(len(ch.Records)) // "killed" before the ack
				break
			}
			cs[0].Ack(ch.File, ch.End)
			if err := store.Save(map[string][]checkpoint.Entry{"s": cs[0].Checkpoint()}); err != nil {
				t.Fatal(err)
			}
			if tally.Count("app") == lines {
				break
			}
		}
		cancel()
		h.stop()
	}
	wcancel()
	r := tally.Check("app", 1, lines)
	if !r.Lossless() || r.Duplicates > unacked || r.Unexpected != 0 {
		t.Errorf("%v; %d lines were delivered unacked", r, unacked)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Paths: []string{"["}}, {Paths: []string{"x"}, PollInterval: -1},
		{Paths: []string{"x"}, Exclude: []string{"[a"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	tl, _ := New(Config{Paths: []string{"x"}})
	if _, err := tl.Cursor("a", []checkpoint.Entry{{Fingerprint: "nothex"}}); err == nil {
		t.Error("bad checkpoint entry accepted")
	}
	tl.Cursor("b", nil)
	if _, err := tl.Cursor("b", nil); err == nil {
		t.Error("duplicate cursor name accepted")
	}
}

// copytruncate with a globbed copy: an ack sent to the truncated
// generation after its copy took over its positions reaches the copy, so
// the copy is checkpointed at its end and closed once deleted.
func TestAckForwardedToCopy(t *testing.T) {
	dir := t.TempDir()
	p, cp := filepath.Join(dir, "app.log"), filepath.Join(dir, "app.log.1")
	cfg := testConfig(p + "*")
	cfg.RotateWait = time.Second // the copy must wait for the truncate, not start at 0
	h, cs := start(t, cfg, nil, "s")
	writeFile(t, p, "a1\na2\n")
	var ch Chunk
	if err := cs[0].Read(t.Context(), &ch); err != nil || len(ch.Records) != 2 {
		t.Fatalf("read: %v, %d records", err, len(ch.Records))
	}
	cs[0].Ack(ch.File, 3) // "a2" pending, as a multiline entry waits in a decoder

	writeFile(t, cp, "a1\na2\n")
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	copyStats := func() (FileStats, bool) {
		for _, fs := range h.tl.Stats().Files {
			if fs.Path == cp {
				return fs, true
			}
		}
		return FileStats{}, false
	}
	waitFor(t, func() string { return fmt.Sprintf("%+v", h.tl.Stats()) }, func() bool {
		fs, ok := copyStats()
		return ok && h.tl.Stats().Ghosts == 0 && fs.Cursors[0].Offset == 6
	})
	if fs, _ := copyStats(); fs.Cursors[0].Acked != 3 {
		t.Fatalf("copy took over acked %d, want 3", fs.Cursors[0].Acked)
	}
	for _, e := range cs[0].Checkpoint() {
		if e.FingerprintLen == 0 {
			t.Errorf("checkpoint lists the emptied original: %+v", e) // checkpoint.Save refuses it
		}
	}

	cs[0].Ack(ch.File, ch.End) // the old generation's serial
	for _, e := range cs[0].Checkpoint() {
		if e.Path == cp && e.Offset != 6 {
			t.Errorf("copy checkpointed at %d, want 6", e.Offset)
		}
	}
	if err := os.Remove(cp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() string { return fmt.Sprintf("copy still open: %+v", h.tl.Stats().Files) }, func() bool {
		_, ok := copyStats()
		return !ok
	})
}
