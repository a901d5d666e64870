package sink

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// makeBatch returns n records numbered from seq, each about size bytes of
// NDJSON (at least the fixed fields).
func makeBatch(seq, n, size int) *record.Batch {
	b := &record.Batch{Records: make([]record.Record, n)}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range b.Records {
		r := &b.Records[i]
		r.File = "/var/log/app.log"
		r.Offset = int64(seq+i) * 100
		r.Time = t0.Add(time.Duration(seq+i) * time.Millisecond)
		head := fmt.Sprintf("seq=%08d ", seq+i)
		empty := len(record.AppendNDJSON(nil, r, nil))
		pad := max(size-empty-len(head), 0)
		r.Line = append([]byte(head), bytes.Repeat([]byte{'x'}, pad)...)
		b.NDJSON = record.AppendNDJSON(b.NDJSON, r, nil)
	}
	return b
}

// dirFiles lists dir's names, sorted.
func dirFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func withSuffix(names []string, suffix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	return out
}

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
