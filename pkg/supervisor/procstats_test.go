package supervisor

import (
	"os"
	"testing"
	"time"
)

// A real line from proc(5)'s format, with a command name that holds spaces
// and parentheses.
const statLine = "4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 1234 0 0 0 " +
	"150 50 7 3 20 0 4 0 123456 987654321 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

var procStatTests = []struct {
	in  string
	ok  bool
	cpu time.Duration
	rss int64 // pages
}{
	{statLine, true, 2100 * time.Millisecond, 2500},
	{"1 (x) R 0 1 1 0 -1 0 0 0 0 0 1 2 3 4 0 0 1 0 1 1 5", true, 100 * time.Millisecond, 5},
	{"1 (x) R 0 1 1 0 -1 0 0 0 0 0 1 2 3 4 0 0 1 0 1 1", false, 0, 0},   // no rss
	{"1 x R 0 1 1 0 -1 0 0 0 0 0 1 2 3 4 0 0 1 0 1 1 5", false, 0, 0},   // no ')'
	{"1 (x) R 0 1 1 0 -1 0 0 0 0 0 a 2 3 4 0 0 1 0 1 1 5", false, 0, 0}, // utime not a number
	{"1 (x) R 0 1 1 0 -1 0 0 0 0 0 1 2 3 4 0 0 1 0 1 1 z", false, 0, 0},
	{"", false, 0, 0},
	{")", false, 0, 0},
}

func TestParseProcStat(t *testing.T) {
	page := int64(os.Getpagesize())
	for _, tc := range procStatTests {
		got, err := parseProcStat([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("parseProcStat(%q): %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (got.cpu != tc.cpu || got.rss != tc.rss*page) {
			t.Errorf("parseProcStat(%q) = %+v, want cpu %s rss %d pages", tc.in, got, tc.cpu, tc.rss)
		}
	}
}

func TestReadProcStatSelf(t *testing.T) {
	st, err := readProcStat("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.rss <= 0 || st.openFD < 3 {
		t.Errorf("own /proc stat %+v: want some memory and at least stdio open", st)
	}
	if _, err := readProcStat(t.TempDir(), 1); err == nil {
		t.Errorf("readProcStat of a missing process = nil error")
	}
}

func FuzzParseProcStat(f *testing.F) {
	for _, tc := range procStatTests {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 { // a real line is well under 1 KiB
			return
		}
		st, err := parseProcStat(b)
		if err != nil {
			return
		}
		if st.rss%int64(os.Getpagesize()) != 0 || st.openFD != 0 {
			t.Fatalf("parseProcStat(%q) = %+v", b, st)
		}
	})
}
