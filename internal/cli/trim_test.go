package cli

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The test binary's own pages are dropped, and it goes on running.
func TestTrimExecutable(t *testing.T) {
	before := rssFileKiB(t)
	n, err := TrimExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if n == 0 || after >= before {
		t.Fatalf("advised %d bytes; RssFile %d -> %d KiB", n, before, after)
	}
	if got := strings.Repeat("ok", 2); got != "okok" { // code and constants fault back in
		t.Fatal(got)
	}
}
