package main

import (
	"os"
	"path/filepath"
	"testing"
)

// readShipped sees a file under both names while the sink renames it, and a
// torn last line while a batch is being written: neither may count twice or
// break the read.
func TestReadShipped(t *testing.T) {
	volume := t.TempDir()
	dir := filepath.Join(volume, shippedDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	one := `{"line":"a","file":"logs/app.log","offset":0,"time":"2026-01-01T00:00:00Z"}` + "\n"
	two := `{"line":"b","file":"logs/app.log","offset":2,"time":"2026-01-01T00:00:00Z"}` + "\n"
	for name, text := range map[string]string{
		"logsaver-1.ndjson":     one + two,
		"logsaver-1.ndjson.tmp": one + two, // linked, not yet unlinked
		"logsaver-2.ndjson.tmp": `{"line":"c","file":"logs/app.log","offset":4,"ti`,
		"logsaver-0.ndjson.gz":  "not read",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := readShipped(volume, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Line != "a" || recs[1].Line != "b" {
		t.Fatalf("got %+v, want records a and b once each", recs)
	}
	if recs[0].in != filepath.Join(shippedDir, "logsaver-1.ndjson") || recs[0].raw+"\n" != one {
		t.Errorf("record a: in %q, raw %q", recs[0].in, recs[0].raw)
	}
}
