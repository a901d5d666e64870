package tail

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Cursor is one consumer's position in every file. Its methods may be
// called from any goroutine, but Read is not called concurrently with
// itself.
type Cursor struct {
	t    *Tailer
	name string
	idx  int
	buf  []byte // read buffer, reused
	pbuf []byte // first bytes re-read after each read (see sameStart)
	rr   uint64 // round robin among live files: the serial served last
	tot  counts // totals over all files, closed ones included
}

// Chunk is what one Read returns: consecutive lines of one file.
type Chunk struct {
	// File identifies the file (its generation) for Ack.
	File uint64
	// Start is the offset of the first byte read, End one past the last
	// byte consumed (lines and their '\n'): Ack(File, End) acknowledges
	// the whole chunk.
	Start, End int64
	// Records are the lines; their Line slices point into the Chunk's
	// buffer, which the next Read into this Chunk overwrites: copy them,
	// or Read into another Chunk, to keep them longer.
	Records []record.Record
	// Split and Truncated count the over-long lines met in this chunk.
	Split, Truncated int
	buf              []byte
}

// Name is the name the cursor was created with.
func (c *Cursor) Name() string { return c.name }

// Read blocks until at least one line is available in some file (or ctx
// ends, or the Tailer stops), then fills ch with the lines of one file:
// at most ReadBufferBytes. Files rotated away are read before live ones.
func (c *Cursor) Read(ctx context.Context, ch *Chunk) error {
	t := c.t
	for {
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			return ErrStopped
		}
		now := time.Now()
		f, flush := c.pick(now)
		if f == nil {
			wake := t.wake
			t.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-wake:
			}
			continue
		}
		f.busy++
		p := f.pos[c.idx]
		serial, path, pre := f.serial, f.firstPath, f.prefix
		t.mu.Unlock()

		if cap(ch.buf) < len(c.buf) {
			ch.buf = make([]byte, len(c.buf))
		}
		buf := ch.buf[:len(c.buf)]
		n, err := f.f.ReadAt(buf, p.read)
		if err != nil && !errors.Is(err, io.EOF) {
			t.log.Warn("tail: read", "path", f.path, "err", err)
		}
		same := c.sameStart(f, pre)
		ch.File, ch.Start, ch.Records, ch.Split, ch.Truncated = serial, p.read, ch.Records[:0], 0, 0
		st := p.st
		var bytesOut int
		consumed, cnt := splitLines(buf[:n], t.cfg.MaxLineBytes, t.cfg.TruncateLongLines, flush && n < len(buf), &st,
			func(s, e int) {
				ch.Records = append(ch.Records, record.Record{Line: buf[s:e:e], File: path, Offset: p.read + int64(s), Time: now})
				bytesOut += e - s
			})
		ch.End = p.read + int64(consumed)
		ch.Split, ch.Truncated = cnt.split, cnt.truncated

		t.mu.Lock()
		f.busy--
		if f.busy == 0 {
			t.idle.Broadcast()
		}
		if f.serial != serial {
			t.mu.Unlock() // truncated meanwhile: what we read is void
			continue
		}
		if !same {
			// Truncated (and maybe refilled past our offset) before or
			// during the read, and no scan has seen it yet: what we read
			// is void, and the refresh starts the generation over.
			t.refresh(f, now)
			t.mu.Unlock()
			continue
		}
		end := p.read + int64(n)
		if end > f.size {
			f.size, f.changedAt = end, now
		} else if n == 0 && p.read < f.size {
			t.refresh(f, now) // shorter than we knew: truncated?
			t.mu.Unlock()
			continue
		}
		q := &f.pos[c.idx]
		q.read, q.scanned, q.st = ch.End, end, st
		q.add(counts{Lines: uint64(len(ch.Records)), Bytes: uint64(bytesOut), Split: uint64(cnt.split), Truncated: uint64(cnt.truncated)})
		c.tot.add(counts{Lines: uint64(len(ch.Records)), Bytes: uint64(bytesOut), Split: uint64(cnt.split), Truncated: uint64(cnt.truncated)})
		if !f.draining {
			c.rr = f.serial
		}
		t.mu.Unlock()
		if len(ch.Records) > 0 {
			return nil
		}
	}
}

// sameStart reports whether f still begins with pre, the first bytes it
// had when the read began. Called after the read, it catches a truncation
// before or during it, even one refilled past our offset between two
// scans, which no size check sees (logs only grow, so a file that still
// has its first bytes was not truncated; the exception, a new generation
// with the same first bytes, is the fingerprint's: see Identity). One
// pread of at most FingerprintBytes, from the page cache, per Read of up
// to ReadBufferBytes. An I/O error cannot tell: the read is trusted, as
// before the check.
func (c *Cursor) sameStart(f *file, pre []byte) bool {
	b := c.pbuf[:len(pre)]
	m, err := f.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return true
	}
	return m == len(pre) && bytes.Equal(b, pre)
}

// pick chooses the next file to read: the oldest draining file with
// unread data, else the next live one after the last served (round
// robin, so one busy file does not starve the others). flush: the file is
// rotated away and quiet, so a trailing line without '\n' is complete.
func (c *Cursor) pick(now time.Time) (f *file, flush bool) {
	t := c.t
	var best, next, first *file
	for _, g := range t.files {
		if !g.placed {
			continue
		}
		p := g.pos[c.idx]
		fl := !g.present && now.Sub(g.goneAt) >= t.cfg.RotateWait && now.Sub(g.changedAt) >= t.cfg.RotateWait
		if !(g.size > p.scanned || fl && p.read < g.size) {
			continue
		}
		if g.draining {
			if best == nil || g.order < best.order {
				best, flush = g, fl
			}
			continue
		}
		if g.serial > c.rr && (next == nil || g.serial < next.serial) {
			next = g
		}
		if first == nil || g.serial < first.serial {
			first = g
		}
	}
	if best != nil {
		return best, flush
	}
	if next == nil {
		next = first
	}
	return next, false
}

// Ack records that everything in file before off was delivered: the
// checkpoint may move there. An ack for a truncated generation whose copy
// took over its positions goes to the copy. Acks for files already closed
// are ignored; acks never move backwards or past what was read.
func (c *Cursor) Ack(file uint64, off int64) {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	// Each step goes to a later takeover; the bound only guards the loop.
	for range len(t.moved) + 1 {
		if p := c.pos(file); p != nil {
			p.acked = max(p.acked, min(off, p.read))
			return
		}
		to := t.moved[file]
		if to == nil || to[c.idx] == 0 {
			return
		}
		file = to[c.idx]
	}
}

// pos is the cursor's position in generation serial, open or a ghost;
// nil if unknown. t.mu is held.
func (c *Cursor) pos(serial uint64) *cpos {
	for _, f := range c.t.files {
		if f.serial == serial {
			return &f.pos[c.idx]
		}
	}
	for _, g := range c.t.ghosts {
		if g.serial == serial && g.has[c.idx] {
			return &g.pos[c.idx]
		}
	}
	return nil
}

// Rewind moves the cursor back to its acknowledged offset in every file:
// after a failed delivery, the next Reads return the unacknowledged lines
// again (the files are still open: a file is closed only once acked).
func (c *Cursor) Rewind() {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.files {
		p := &f.pos[c.idx]
		if p.read != p.acked {
			p.read, p.scanned, p.st = p.acked, p.acked, splitState{}
		}
	}
	for _, g := range t.ghosts {
		if g.has[c.idx] {
			p := &g.pos[c.idx]
			p.read, p.scanned, p.st = p.acked, p.acked, splitState{}
		}
	}
	t.broadcast()
}

// Checkpoint returns the acknowledged offsets of every file the cursor
// knows, for checkpoint.Store.Save; pass them back to Tailer.Cursor after
// a restart. A file whose first bytes no scan has seen since it was
// truncated has no fingerprint and is left out (checkpoint.Save refuses
// such an entry); after a restart it is read from 0.
func (c *Cursor) Checkpoint() []checkpoint.Entry {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []checkpoint.Entry
	for _, f := range t.files {
		if !f.placed || len(f.prefix) == 0 {
			continue
		}
		out = append(out, entry(fingerprint(f.prefix), len(f.prefix), f.path, f.pos[c.idx].acked, f.id))
	}
	for _, g := range t.ghosts {
		if g.has[c.idx] {
			out = append(out, entry(g.fp, g.fpLen, g.path, g.pos[c.idx].acked, g.id))
		}
	}
	return out
}

func parseFP(s string) ([16]byte, error) {
	var fp [16]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(fp) {
		return fp, errors.New("bad fingerprint")
	}
	return [16]byte(b), nil
}
