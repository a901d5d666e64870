package tail

import (
	"cmp"
	"encoding/hex"
	"slices"
)

// Stats is a snapshot of a Tailer, for metrics and the admin page.
type Stats struct {
	Inotify  bool   // false: polling only
	Scans    uint64 // full scans done
	Deferred int    // files open but not yet read: empty, or suspected copies
	Ghosts   int    // remembered positions of truncated or not-yet-seen files
	Files    []FileStats
	Cursors  []CursorStats // totals per cursor over all files, closed ones included
}

// FileStats describes one open file. A file with Present false was
// rotated away or deleted and is kept open until every cursor has read
// and acknowledged its end.
type FileStats struct {
	File           uint64 // as in Chunk.File
	Path           string // where it was seen last
	FirstPath      string // Record.File
	Dev, Ino       uint64
	Fingerprint    string
	FingerprintLen int
	Size           int64
	Present        bool
	Cursors        []CursorStats
}

// CursorStats is one cursor's progress, in one file or in all.
type CursorStats struct {
	Name    string
	Offset  int64 // next byte to read (per file only)
	Acked   int64 // per file only
	Lag     int64 // Size - Offset: bytes not yet read (per file only)
	Lines   uint64
	Bytes   uint64 // of lines, without their '\n'
	Split   uint64 // cuts of over-long lines
	Trunc   uint64 // over-long lines truncated
	Pending int64  // Offset - Acked: read, not yet acknowledged (per file only)
}

// Stats returns a snapshot; files are in the order they were found.
func (t *Tailer) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Stats{Inotify: t.inotify, Scans: t.scans, Ghosts: len(t.ghosts)}
	for _, f := range t.files {
		if !f.placed {
			s.Deferred++
		}
		fp := fingerprint(f.prefix)
		fs := FileStats{File: f.serial, Path: f.path, FirstPath: f.firstPath, Dev: f.id.dev, Ino: f.id.ino,
			Fingerprint: hex.EncodeToString(fp[:]), FingerprintLen: len(f.prefix), Size: f.size, Present: f.present}
		for i, c := range t.cursors {
			p := f.pos[i]
			fs.Cursors = append(fs.Cursors, CursorStats{Name: c.name, Offset: p.read, Acked: p.acked,
				Lag: f.size - p.read, Pending: p.read - p.acked,
				Lines: p.Lines, Bytes: p.Bytes, Split: p.Split, Trunc: p.Truncated})
		}
		s.Files = append(s.Files, fs)
	}
	slices.SortFunc(s.Files, func(a, b FileStats) int { return cmp.Compare(a.File, b.File) })
	for _, c := range t.cursors {
		s.Cursors = append(s.Cursors, CursorStats{Name: c.name, Lines: c.tot.Lines, Bytes: c.tot.Bytes,
			Split: c.tot.Split, Trunc: c.tot.Truncated})
	}
	return s
}
