package supervisor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func lineTexts(lines []logLine) []string {
	out := []string{}
	for _, l := range lines {
		out = append(out, streamNames[l.stream]+":"+l.text)
	}
	return out
}

func TestRingSplitsLines(t *testing.T) {
	r := newRing(1 << 20)
	r.write(stdout, []byte("one\ntw"))
	r.write(stderr, []byte("err"))
	r.write(stdout, []byte("o\n\nthr"))
	r.write(stderr, []byte(" 1\n"))
	r.write(stdout, []byte("ee"))
	if got := strings.Join(lineTexts(r.tail(-1, -1)), "|"); got != "stdout:one|stdout:two|stdout:|stderr:err 1" {
		t.Errorf("lines %q", got)
	}
	r.flush(stdout) // a last line without a newline is kept at EOF
	r.flush(stderr) // nothing pending: nothing added
	for _, tc := range []struct {
		n, stream int
		want      string
	}{
		{-1, -1, "stdout:one|stdout:two|stdout:|stderr:err 1|stdout:three"},
		{2, -1, "stderr:err 1|stdout:three"},
		{2, stdout, "stdout:|stdout:three"},
		{5, stderr, "stderr:err 1"},
		{0, -1, ""},
		{100, -1, "stdout:one|stdout:two|stdout:|stderr:err 1|stdout:three"},
	} {
		if got := strings.Join(lineTexts(r.tail(tc.n, tc.stream)), "|"); got != tc.want {
			t.Errorf("tail(%d, %d) = %q, want %q", tc.n, tc.stream, got, tc.want)
		}
	}
}

func TestRingCutsLongLines(t *testing.T) {
	r := newRing(1 << 20)
	long := strings.Repeat("x", 2*maxLineBytes+10)
	// In small writes without a newline, then with one.
	for i := 0; i < len(long); i += 1000 {
		r.write(stdout, []byte(long[i:min(i+1000, len(long))]))
	}
	r.write(stdout, []byte("\n"+long+"\n"))
	var lens []int
	for _, l := range r.tail(-1, -1) {
		lens = append(lens, len(l.text))
	}
	want := []int{maxLineBytes, maxLineBytes, 10, maxLineBytes, maxLineBytes, 10}
	if len(lens) != len(want) {
		t.Fatalf("line lengths %v, want %v", lens, want)
	}
	for i := range want {
		if lens[i] != want[i] {
			t.Fatalf("line lengths %v, want %v", lens, want)
		}
	}
}

// The ring stays within its byte bound, empty lines included, and keeps
// the newest lines.
func TestRingBound(t *testing.T) {
	const max = 4096
	r := newRing(max)
	var all []string
	for i := range 5000 {
		line := strings.Repeat("y", i%100)
		all = append(all, line)
		r.write(i%2, []byte(line+"\n"))
		if r.bytes > max {
			t.Fatalf("after %d lines: %d bytes, bound %d", i+1, r.bytes, max)
		}
	}
	got := r.tail(-1, -1)
	if len(got) < 10 {
		t.Fatalf("only %d lines kept", len(got))
	}
	sum := 0
	for i, l := range got {
		if want := all[len(all)-len(got)+i]; l.text != want {
			t.Fatalf("line %d of the tail is %q, want %q: not the newest lines in order", i, l.text, want)
		}
		sum += len(l.text) + lineOverhead
	}
	if sum != r.bytes || sum > max {
		t.Errorf("kept %d bytes, counted %d, bound %d", sum, r.bytes, max)
	}
	if len(r.lines) > 2*len(got)+64 {
		t.Errorf("%d slots for %d lines: dropped lines are not compacted", len(r.lines), len(got))
	}
	// Empty lines cost lineOverhead each, so they are bounded too.
	r = newRing(10 * lineOverhead)
	r.write(stdout, []byte(strings.Repeat("\n", 1000)))
	if n := len(r.tail(-1, -1)); n != 10 {
		t.Errorf("%d empty lines kept, want 10", n)
	}
}

func TestServeLogsQueries(t *testing.T) {
	s, err := New(Config{Argv: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	s.logs.write(stdout, []byte("a\nb\n"))
	s.logs.write(stderr, []byte("e\n"))
	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"", 200, "a\nb\ne\n"},
		{"?tail=1", 200, "e\n"},
		{"?tail=all&stream=stdout", 200, "a\nb\n"},
		{"?tail=0", 200, ""},
		{"?stream=stderr&format=json", 200, `"line": "e"`},
		{"?tail=-1", 400, "tail: want a number >= 0 or all"},
		{"?tail=1x", 400, "tail"},
		{"?stream=all", 400, "stream: want stdout or stderr"},
		{"?format=yaml", 400, "format: want text or json"},
	} {
		w := httptest.NewRecorder()
		s.serveLogs(w, httptest.NewRequest(http.MethodGet, "/logs"+tc.query, nil))
		body := w.Body.String()
		if w.Code != tc.code || tc.code == 200 && !strings.Contains(tc.query, "json") && body != tc.body || !strings.Contains(body, tc.body) {
			t.Errorf("/logs%s = %d %q, want %d %q", tc.query, w.Code, body, tc.code, tc.body)
		}
	}
}
