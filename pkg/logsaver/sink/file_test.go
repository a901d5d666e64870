package sink

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func newFileSink(t *testing.T, cfg FileConfig) *File {
	t.Helper()
	s, err := NewFile(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFileDurableBeforeAck checks that once Send returns, the batch is in
// DIR (as the .tmp file) and DIR holds nothing else; and after Close, the
// file has its final name.
func TestFileDurableBeforeAck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out") // created by the first Send
	s := newFileSink(t, FileConfig{Dir: dir})
	var want []byte
	for i := range 3 {
		b := makeBatch(i*10, 10, 100)
		if err := s.Send(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b.NDJSON...)
		names := dirFiles(t, dir)
		if len(names) != 1 || !strings.HasSuffix(names[0], ".ndjson.tmp") {
			t.Fatalf("after Send %d: files %q, want one .ndjson.tmp", i, names)
		}
		if got := readFile(t, dir, names[0]); !bytes.Equal(got, want) {
			t.Fatalf("after Send %d: file holds %d bytes, want %d", i, len(got), len(want))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirFiles(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], "logsaver-") || !strings.HasSuffix(names[0], ".ndjson") {
		t.Fatalf("after Close: files %q, want one logsaver-*.ndjson", names)
	}
	if got := readFile(t, dir, names[0]); !bytes.Equal(got, want) {
		t.Errorf("final file differs")
	}
	if err := s.Send(t.Context(), makeBatch(0, 1, 100)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	st := s.Stats()
	if st.Acked != 3 || st.Records != 30 || st.Bytes != uint64(len(want)) || st.Files != 1 || st.Failed != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestFileRotateSize checks size rotation: files never pass max-bytes, the
// names are unique and sort in write order, and together they hold every
// batch once, in order.
func TestFileRotateSize(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			dir := t.TempDir()
			const maxBytes = 4096
			s := newFileSink(t, FileConfig{Dir: dir, MaxBytes: maxBytes, Gzip: gz})
			var want []byte
			for i := range 40 {
				b := makeBatch(i*10, 10, 100) // about 1000 bytes
				if err := s.Send(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				want = append(want, b.NDJSON...)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			names := dirFiles(t, dir)
			if len(withSuffix(names, ".tmp")) != 0 {
				t.Fatalf("left .tmp files: %q", names)
			}
			if !gz && len(names) < 10 || gz && len(names) < 2 {
				t.Fatalf("only %d files: %q", len(names), names)
			}
			var got []byte
			for _, n := range names {
				raw := readFile(t, dir, n)
				if len(raw) > maxBytes {
					t.Errorf("%s: %d bytes > max-bytes %d", n, len(raw), maxBytes)
				}
				if gz {
					raw = gunzip(t, raw)
				}
				got = append(got, raw...)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("files in name order hold %d bytes, want the %d sent, in order", len(got), len(want))
			}
			if st := s.Stats(); st.Files != uint64(len(names)) {
				t.Errorf("Stats.Files = %d, want %d", st.Files, len(names))
			}
		})
	}
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFileGzipZcat checks that completed gzip files, one member per
// batch, read whole with the zcat binary.
func TestFileGzipZcat(t *testing.T) {
	zcat, err := exec.LookPath("zcat")
	if err != nil {
		t.Skip("no zcat:", err)
	}
	dir := t.TempDir()
	s := newFileSink(t, FileConfig{Dir: dir, Gzip: true, GzipLevel: 9})
	var want []byte
	for i := range 5 {
		b := makeBatch(i*100, 100, 100)
		if err := s.Send(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b.NDJSON...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirFiles(t, dir)
	if len(names) != 1 || !strings.HasSuffix(names[0], ".ndjson.gz") {
		t.Fatalf("files %q, want one .ndjson.gz", names)
	}
	got, err := exec.Command(zcat, filepath.Join(dir, names[0])).Output()
	if err != nil {
		t.Fatalf("zcat: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("zcat gave %d bytes, want %d", len(got), len(want))
	}
}

// TestFileRotateAge runs in a synctest bubble: the max-age timer completes
// an idle file without another Send.
func TestFileRotateAge(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := NewFile(FileConfig{Dir: dir, MaxAge: time.Minute}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Send(t.Context(), makeBatch(0, 5, 100)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if names := dirFiles(t, dir); len(withSuffix(names, ".tmp")) != 1 {
			t.Fatalf("before max-age: %q, want one .tmp", names)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		names := dirFiles(t, dir)
		if len(names) != 1 || strings.HasSuffix(names[0], ".tmp") {
			t.Fatalf("after max-age: %q, want one completed file", names)
		}
		if err := s.Send(t.Context(), makeBatch(5, 5, 100)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		if err := s.Send(t.Context(), makeBatch(10, 5, 100)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(31 * time.Second) // the second file's age, from its first batch
		synctest.Wait()
		names = dirFiles(t, dir)
		if len(names) != 2 || len(withSuffix(names, ".tmp")) != 0 {
			t.Fatalf("after second max-age: %q, want two completed files", names)
		}
		if got := readFile(t, dir, names[1]); bytes.Count(got, []byte("\n")) != 10 {
			t.Errorf("second file has %d lines, want 10", bytes.Count(got, []byte("\n")))
		}
	})
}

// TestFileNeverOverwrites puts a file at the name the current .tmp would
// get: completing must pick another name, not replace it.
func TestFileNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	s := newFileSink(t, FileConfig{Dir: dir})
	b := makeBatch(0, 3, 100)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	tmp := dirFiles(t, dir)[0]
	taken := strings.TrimSuffix(tmp, ".tmp")
	if err := os.WriteFile(filepath.Join(dir, taken), []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirFiles(t, dir)
	if len(names) != 2 || names[0] != taken {
		t.Fatalf("files %q, want %s and a later one", names, taken)
	}
	if got := readFile(t, dir, taken); string(got) != "precious\n" {
		t.Errorf("%s overwritten: %q", taken, got)
	}
	if got := readFile(t, dir, names[1]); !bytes.Equal(got, b.NDJSON) {
		t.Errorf("%s does not hold the batch", names[1])
	}
}

// TestFileTwoWriters runs two sinks with one prefix in one DIR, as two
// logsaver replicas sharing a volume would: O_EXCL and the lock keep each
// away from the other's files; nothing is lost or overwritten.
func TestFileTwoWriters(t *testing.T) {
	dir := t.TempDir()
	a := newFileSink(t, FileConfig{Dir: dir, MaxBytes: 3000})
	b := newFileSink(t, FileConfig{Dir: dir, MaxBytes: 3000})
	var lines int
	for i := range 20 {
		for _, s := range []*File{a, b} {
			if err := s.Send(t.Context(), makeBatch(i*10, 10, 100)); err != nil {
				t.Fatal(err)
			}
			lines += 10
		}
	}
	for _, s := range []*File{a, b} {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	names := dirFiles(t, dir)
	var got int
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("left %s", n)
		}
		got += bytes.Count(readFile(t, dir, n), []byte("\n"))
	}
	if got != lines {
		t.Errorf("%d lines in %d files, want %d", got, len(names), lines)
	}
	if sa, sb := a.Stats(), b.Stats(); sa.Files+sb.Files != uint64(len(names)) {
		t.Errorf("completed %d+%d files, found %d", sa.Files, sb.Files, len(names))
	}
}

// TestFileCrashRecovery leaves .tmp files as a crash would, with a torn
// last batch, and checks the next sink cuts them back to the complete
// batches and completes them.
func TestFileCrashRecovery(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			dir := t.TempDir()
			s := newFileSink(t, FileConfig{Dir: dir, Gzip: gz})
			var want []byte
			for i := range 3 {
				b := makeBatch(i*10, 10, 100)
				if err := s.Send(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				want = append(want, b.NDJSON...)
			}
			tmp := dirFiles(t, dir)[0]
			// Crash: the process dies, releasing its lock, in the middle
			// of writing a fourth batch.
			s.mu.Lock()
			s.drop()
			s.closed = true
			s.mu.Unlock()
			torn := makeBatch(30, 10, 100).NDJSON
			if gz {
				var zb bytes.Buffer
				zw := gzip.NewWriter(&zb)
				zw.Write(torn)
				zw.Close()
				torn = zb.Bytes()
			}
			torn = torn[:len(torn)/2]
			if !gz {
				// Its complete lines are kept: at-least-once allows them.
				want = append(want, torn[:bytes.LastIndexByte(torn, '\n')+1]...)
				torn = append(torn, make([]byte, 100)...) // zeros, then a line end
				torn = append(torn, '\n')
			}
			f, err := os.OpenFile(filepath.Join(dir, tmp), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(torn)
			f.Close()
			// An empty .tmp (crash right after create) and one of another
			// prefix, which must be left alone.
			os.WriteFile(filepath.Join(dir, "logsaver-20200101T000000.000000000Z.ndjson.tmp"), nil, 0o644)
			os.WriteFile(filepath.Join(dir, "other-20200101T000000.000000000Z.ndjson.tmp"), []byte("x"), 0o644)

			s2 := newFileSink(t, FileConfig{Dir: dir, Gzip: gz})
			next := makeBatch(40, 10, 100)
			if err := s2.Send(t.Context(), next); err != nil {
				t.Fatal(err)
			}
			names := dirFiles(t, dir)
			recovered := strings.TrimSuffix(tmp, ".tmp")
			if !slices.Contains(names, recovered) || !slices.Contains(names, "other-20200101T000000.000000000Z.ndjson.tmp") || len(names) != 3 {
				t.Fatalf("files %q, want %s, the new .tmp and other's .tmp", names, recovered)
			}
			got := readFile(t, dir, recovered)
			if gz {
				if zcat, err := exec.LookPath("zcat"); err == nil {
					if _, err := exec.Command(zcat, filepath.Join(dir, recovered)).Output(); err != nil {
						t.Errorf("zcat %s: %v", recovered, err)
					}
				}
				got = gunzip(t, got)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("recovered file holds %d bytes, want the %d of the acked batches", len(got), len(want))
			}
			if st := s2.Stats(); st.Files != 1 {
				t.Errorf("Stats.Files = %d, want 1", st.Files)
			}
		})
	}
}

// TestFileLiveTmpLeftAlone checks that a second sink's recovery does not
// touch the .tmp another live sink is writing.
func TestFileLiveTmpLeftAlone(t *testing.T) {
	dir := t.TempDir()
	a := newFileSink(t, FileConfig{Dir: dir})
	if err := a.Send(t.Context(), makeBatch(0, 10, 100)); err != nil {
		t.Fatal(err)
	}
	b := newFileSink(t, FileConfig{Dir: dir})
	if err := b.Send(t.Context(), makeBatch(10, 10, 100)); err != nil {
		t.Fatal(err)
	}
	if names := dirFiles(t, dir); len(withSuffix(names, ".tmp")) != 2 {
		t.Fatalf("files %q, want two .tmp", names)
	}
	if st := b.Stats(); st.Files != 0 {
		t.Errorf("b completed %d files, want 0", st.Files)
	}
}

// TestFileConfinement checks nothing is written outside DIR: a .tmp name
// that is a symlink out of DIR is not followed by recovery.
func TestFileConfinement(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "out"), filepath.Join(base, "victim")
	os.Mkdir(dir, 0o755)
	if err := os.WriteFile(outside, []byte("victim\x00\x00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, target := range []string{outside, "../victim"} {
		link := filepath.Join(dir, "logsaver-2020010"+string(rune('1'+i))+"T000000.000000000Z.ndjson.tmp")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	s := newFileSink(t, FileConfig{Dir: dir})
	if err := s.Send(t.Context(), makeBatch(0, 10, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "victim\x00\x00\n" {
		t.Errorf("file outside DIR changed: %q", got)
	}
	if names := dirFiles(t, base); len(names) != 2 {
		t.Errorf("files next to DIR: %q", names)
	}
	if _, err := NewFile(FileConfig{Dir: dir, Prefix: "../x"}, Options{}); err == nil {
		t.Error("prefix ../x accepted")
	}
	if _, err := NewFile(FileConfig{Dir: "relative"}, Options{}); err == nil {
		t.Error("relative dir accepted")
	}
}

// TestFileCreateExclusive puts another writer's .tmp and a complete file
// at the next names this sink would pick: it must skip both (O_EXCL and
// the final-name check) and leave them as they were.
func TestFileCreateExclusive(t *testing.T) {
	dir := t.TempDir()
	s := newFileSink(t, FileConfig{Dir: dir})
	if err := s.Send(t.Context(), makeBatch(0, 1, 100)); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
	s.mu.Lock()
	s.finish()
	s.last = base
	s.mu.Unlock()
	taken := []string{
		s.fileName(base.Add(1)) + ".tmp",
		s.fileName(base.Add(2)),
	}
	for _, n := range taken {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := makeBatch(1, 1, 100)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	for _, n := range taken {
		if got := readFile(t, dir, n); string(got) != "precious\n" {
			t.Errorf("%s overwritten: %q", n, got)
		}
	}
	want := s.fileName(base.Add(3)) + ".tmp"
	if got := readFile(t, dir, want); !bytes.Equal(got, b.NDJSON) {
		t.Errorf("%s holds %q, want the batch", want, got)
	}
}
