package logtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestLineParse(t *testing.T) {
	for _, size := range []int{0, 40, 100, 1000} {
		l := Line(nil, "app.log", 42, size)
		if size >= 40 && len(l) != size {
			t.Errorf("size %d: line is %d bytes", size, len(l))
		}
		src, seq, ok := Parse(bytes.TrimSuffix(l, []byte("\n")))
		if !ok || src != "app.log" || seq != 42 {
			t.Errorf("Parse(%q) = %q, %d, %v", l, src, seq, ok)
		}
	}
	for _, bad := range []string{"", "seq=12", "seq=00000000004x src=a x", "seq=000000000042 src=a"} {
		if _, _, ok := Parse([]byte(bad)); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// readAll reads every line of the file and its rotated copies.
func readAll(t *testing.T, path string, tally *Tally) {
	t.Helper()
	files, _ := filepath.Glob(path + "*")
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			tally.Add(sc.Bytes())
		}
		fh.Close()
	}
}

// Rotation keeps every line somewhere on disk (delete is checked apart:
// it deletes on purpose).
func TestWriterRotations(t *testing.T) {
	for _, rot := range []Rotation{RotateNone, RotateRename, RotateCopyTruncate} {
		t.Run(string(rot), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			w, err := NewWriter(WriterConfig{Path: path, Lines: 3000, Rate: 30000, Rotate: rot, EveryLines: 500, Keep: 100})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if want := map[Rotation]int{RotateNone: 0, RotateRename: 5, RotateCopyTruncate: 5}[rot]; w.Rotated != want {
				t.Fatalf("rotated %d times, want %d", w.Rotated, want)
			}
			tally := NewTally()
			readAll(t, path, tally)
			if r := tally.Check("app.log", 1, 3000); !r.Lossless() || r.Duplicates != 0 {
				t.Errorf("%v (rotated %d times)", r, w.Rotated)
			}
		})
	}
}

func TestWriterDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	w, _ := NewWriter(WriterConfig{Path: path, Lines: 2000, Rotate: RotateDelete, EveryLines: 500})
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tally := NewTally()
	readAll(t, path, tally)
	// Rotations at 500, 1000, 1500: the lines before 1000 were deleted.
	if r := tally.Check("app.log", 1001, 2000); !r.Lossless() {
		t.Errorf("the last two files: %v", r)
	}
	if r := tally.Check("app.log", 1, 1000); r.Unique != 0 {
		t.Errorf("delete rotation kept deleted lines: %v", r)
	}
}

func TestReceiver(t *testing.T) {
	rc := NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	post := func(body []byte, gz bool) int {
		var b bytes.Buffer
		if gz {
			zw := gzip.NewWriter(&b)
			zw.Write(body)
			zw.Close()
		} else {
			b.Write(body)
		}
		req, _ := http.NewRequest("POST", srv.URL, &b)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	rec := func(seq int64) string {
		return `{"line":"` + strings.TrimSuffix(string(Line(nil, "a", seq, 60)), "\n") + `","file":"a"}` + "\n"
	}
	if c := post([]byte(rec(1)+rec(2)), false); c != 204 {
		t.Fatalf("status %d", c)
	}
	if c := post([]byte(rec(2)+rec(3)), true); c != 204 {
		t.Fatalf("gzip: status %d", c)
	}
	if c := post([]byte(rec(9)+"{bad\n"), false); c != 400 {
		t.Fatalf("bad batch: status %d", c)
	}
	rc.Down(http.StatusTooManyRequests)
	if c := post([]byte(rec(4)), false); c != 429 {
		t.Fatalf("down: status %d", c)
	}
	rc.Up()
	r := rc.Tally.Check("a", 1, 4)
	if r.Unique != 3 || r.Duplicates != 1 || r.FirstMissing != 4 {
		t.Errorf("%v; want 1-3 with one duplicate, 4 missing (a rejected batch counts nothing)", r)
	}
	if rc.Batches.Load() != 2 || rc.Rejected.Load() != 2 {
		t.Errorf("batches %d rejected %d", rc.Batches.Load(), rc.Rejected.Load())
	}
}

func TestRecordLine(t *testing.T) {
	for _, tc := range []struct {
		rec, want string
		fast, ok  bool
	}{
		{`{"line":"a b","file":"f","offset":3}`, "a b", true, true},
		{`{"line":"a b","file":"f","offset":3}`, "a b", false, true},
		{`{"line":"a\"b","file":"f"}`, `a"b`, true, true}, // escaped: decoded
		{`{"file":"f","line":"x"}`, "x", true, true},      // line not first: decoded
		{`{"line":"a","file":`, "", true, false},          // no '}': decoded, rejected
		{`{"line":"a","file":`, "", false, false},
		{`{"line":"a",bad}`, "a", true, true}, // fast trusts the rest
		{`{"line":"a",bad}`, "", false, false},
	} {
		got, err := RecordLine([]byte(tc.rec), tc.fast)
		if (err == nil) != tc.ok || string(got) != tc.want {
			t.Errorf("RecordLine(%s, %v) = %q, %v", tc.rec, tc.fast, got, err)
		}
	}
}
