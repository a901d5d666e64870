package logsaver

import (
	"testing"

	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// A rotated file's counts stay in its path's counter when it closes, so
// the counter never goes down while the path is followed.
func TestReadCountsNeverDecrease(t *testing.T) {
	var r readCounts
	file := func(id uint64, lines uint64) tail.FileStats {
		return tail.FileStats{File: id, FirstPath: "app.log", Cursors: []tail.CursorStats{{Name: "s", Lines: lines, Bytes: lines * 10}}}
	}
	k := pathKey{"s", "app.log"}
	steps := []struct {
		files []tail.FileStats
		want  float64
	}{
		{[]tail.FileStats{file(1, 100)}, 100},
		{[]tail.FileStats{file(1, 150), file(2, 5)}, 155}, // rotated: the old one drains, the new one starts
		{[]tail.FileStats{file(2, 20)}, 170},              // the old one closed at 150
		{[]tail.FileStats{file(2, 30)}, 180},
	}
	for i, st := range steps {
		lines, bytes, _ := r.update(tail.Stats{Files: st.files})
		if lines[k] != st.want || bytes[k] != st.want*10 {
			t.Fatalf("step %d: lines %v bytes %v, want %v", i, lines[k], bytes[k], st.want)
		}
	}
	if lines, _, _ := r.update(tail.Stats{}); len(lines) != 0 || len(r.closed) != 0 {
		t.Fatalf("no file of the path is open: the series should end, got %v", lines)
	}
}
