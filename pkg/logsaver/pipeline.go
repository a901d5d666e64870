package logsaver

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/format"
	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// pipeline is one sink's: its cursor, decoders and batches. The reader
// builds batches while the sender delivers the previous ones, so reading
// and sending overlap; the batches waiting are bounded by MaxBufferBytes.
type pipeline struct {
	s      *Saver
	name   string
	sink   record.Sink
	cursor *tail.Cursor

	decoders map[uint64]*decoder // by tail.Chunk.File
	now      time.Time           // the decoders' clock: read once per chunk, not per line
	enc      *record.Encoder
	records  bool        // the sink reads Batch.Records (record.RecordsUser)
	free     chan *batch // acknowledged batches, for their buffers' reuse
	batches  chan *batch
	room     chan struct{} // a batch was acknowledged: buffer space freed

	buffered atomic.Int64 // NDJSON bytes of batches not yet acknowledged
	oldest   atomic.Int64 // UnixNano of the oldest unacknowledged record; 0: none
	m        pipelineStats
}

// pipelineStats are the pipeline's counters, read by the collector.
type pipelineStats struct {
	acked, failed, records, bytes atomic.Uint64
	format                        atomic.Pointer[format.Stats] // summed over closed and live decoders
}

type decoder struct {
	d       *format.Decoder
	emitted int64 // the SafeOffset last put in a batch's acks
	last    time.Time
	seen    format.Stats // Stats already added to the pipeline's totals
}

// batch is a run of records and the cursor positions its delivery
// acknowledges. A batch may carry no record, only acks (lines that made
// no record, such as the tail of a multiline entry already sent).
type batch struct {
	b     record.Batch
	acks  []ack
	first time.Time // ingest time of the first record
}

type ack struct {
	file uint64
	off  int64
}

func newPipeline(s *Saver, sk record.Sink) *pipeline {
	p := &pipeline{s: s, name: sk.Name(), sink: sk, decoders: map[uint64]*decoder{}, room: make(chan struct{}, 1),
		enc: record.NewEncoder(s.cfg.Labels)}
	if ru, ok := sk.(record.RecordsUser); ok {
		p.records = ru.UsesRecords()
	}
	// One batch being built, the rest waiting or in flight.
	n := max(1, s.cfg.MaxBufferBytes/s.cfg.BatchBytes)
	p.batches = make(chan *batch, n)
	p.free = make(chan *batch, n+1)
	p.m.format.Store(&format.Stats{})
	return p
}

// run reads and delivers until ctx ends, then drains for DrainTimeout.
func (p *pipeline) run(ctx context.Context, ck *checkpointer) {
	drain, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			time.AfterFunc(p.s.cfg.DrainTimeout, cancel)
		case <-drain.Done():
		}
	}()
	sent := make(chan struct{})
	go func() { p.send(drain, ck); close(sent) }()
	p.read(ctx, drain)
	<-sent
}

// read fills batches from the cursor until ctx ends; then it reads what is
// left (until a read finds nothing) and closes the batch channel.
func (p *pipeline) read(ctx, drain context.Context) {
	defer close(p.batches)
	cfg := &p.s.cfg
	var ch tail.Chunk
	var out []format.Entry
	cur := p.newBatch()
	var due time.Time // when cur must go, once it has a record
	for {
		draining := ctx.Err() != nil
		rctx := ctx
		if draining {
			rctx = drain
		}
		// Backpressure: wait while the batches waiting fill the buffer.
		for p.buffered.Load()+int64(len(cur.b.NDJSON)) >= int64(cfg.MaxBufferBytes) {
			select {
			case <-p.room:
			case <-drain.Done():
				return
			}
		}
		wait := p.nextDeadline(due)
		if draining {
			wait = min(wait, 100*time.Millisecond)
		}
		tctx, stop := context.WithTimeout(rctx, wait)
		err := p.cursor.Read(tctx, &ch)
		stop()
		now := time.Now()
		switch {
		case err == nil:
			out = p.feed(&ch, out[:0])
			p.add(cur, out, now)
		case errors.Is(err, tail.ErrStopped):
			return
		case drain.Err() != nil:
			return
		case draining && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
			// Nothing more to read: the files are drained. What is
			// still pending in the decoders goes out now.
			out = out[:0]
			for _, d := range p.decoders {
				out = d.d.FlushAll(out)
			}
			p.add(cur, out, now)
			p.emit(cur, drain)
			return
		}
		out = out[:0]
		for _, d := range p.decoders {
			if t, ok := d.d.Deadline(); ok && !now.Before(t) {
				out = d.d.Flush(out, now)
			}
		}
		p.add(cur, out, now)
		if due.IsZero() && cur.b.N > 0 {
			due = cur.first.Add(cfg.BatchWait) // add set first with the batch's first record
		}
		if len(cur.b.NDJSON) >= cfg.BatchBytes || cur.b.N > 0 && !now.Before(due) || cur.b.N == 0 && p.acksDue() {
			// Queued under the drain context only: a batch given up
			// while later ones are acknowledged would be lost.
			if !p.emit(cur, drain) {
				return
			}
			cur, due = p.newBatch(), time.Time{}
		}
		p.forget(now)
	}
}

// nextDeadline is how long a read may wait: until the batch is due or a
// decoder's pending entry times out.
func (p *pipeline) nextDeadline(due time.Time) time.Duration {
	wait := p.s.cfg.BatchWait
	now := time.Now()
	if !due.IsZero() {
		wait = min(wait, due.Sub(now))
	}
	for _, d := range p.decoders {
		if t, ok := d.d.Deadline(); ok {
			wait = min(wait, t.Sub(now))
		}
	}
	return max(wait, time.Millisecond)
}

// feed decodes a chunk's lines with its file's decoder.
func (p *pipeline) feed(ch *tail.Chunk, out []format.Entry) []format.Entry {
	d := p.decoders[ch.File]
	if d == nil && len(ch.Records) > 0 {
		out = p.flushGone(out)
		fd, err := format.New(p.s.cfg.decoderConfig(ch.Records[0].File, ch.Start, p.clock))
		if err != nil {
			// Checked in New with the same settings: not reached.
			p.s.cfg.Logger.Error("logsaver: decoder", "err", err)
			return out
		}
		d = &decoder{d: fd, emitted: ch.Start}
		p.decoders[ch.File] = d
	}
	if d == nil {
		return out
	}
	p.now = time.Now()
	d.last = p.now
	for i := range ch.Records {
		r := &ch.Records[i]
		end := ch.End
		if i+1 < len(ch.Records) {
			end = ch.Records[i+1].Offset
		}
		out = d.d.Feed(out, r.Line, r.Offset, end)
	}
	return out
}

func (p *pipeline) clock() time.Time { return p.now }

// flushGone ends the pending entries of file generations the tailer no
// longer holds: truncated (copytruncate) ones, whose copy takes over their
// positions as a new generation and is acknowledged through its own
// decoder. Emitted before the new file's records, they are delivered
// before any ack of the copy can pass them. Called when a decoder is made.
func (p *pipeline) flushGone(out []format.Entry) []format.Entry {
	var open map[uint64]bool
	for f, d := range p.decoders {
		if lines, _ := d.d.Pending(); lines == 0 {
			continue
		}
		if open == nil {
			open = map[uint64]bool{}
			for _, fs := range p.s.tailer.Stats().Files {
				open[fs.File] = true
			}
		}
		if !open[f] {
			out = d.d.FlushAll(out)
		}
	}
	return out
}

// add encodes entries into b.
func (p *pipeline) add(b *batch, es []format.Entry, now time.Time) {
	for i := range es {
		if p.records {
			b.b.Records = append(b.b.Records, es[i].Record)
		}
		b.b.NDJSON = p.enc.Append(b.b.NDJSON, &es[i].Record)
	}
	b.b.N += len(es)
	if len(es) > 0 && b.first.IsZero() {
		b.first = now
	}
}

// newBatch returns an empty batch, reusing an acknowledged one's buffers:
// growing a fresh megabyte per batch cost more than encoding it.
func (p *pipeline) newBatch() *batch {
	select {
	case b := <-p.free:
		return b
	default:
		return &batch{b: record.Batch{NDJSON: make([]byte, 0, p.s.cfg.BatchBytes*3/2)}}
	}
}

// recycle gives an acknowledged batch's buffers back.
func (p *pipeline) recycle(b *batch) {
	clear(b.b.Records) // let the lines' memory go
	*b = batch{b: record.Batch{Records: b.b.Records[:0], NDJSON: b.b.NDJSON[:0]}, acks: b.acks[:0]}
	select {
	case p.free <- b:
	default:
	}
}

// acksDue reports whether a decoder's safe offset moved past what the last
// batch acknowledges although no record is waiting.
func (p *pipeline) acksDue() bool {
	for _, d := range p.decoders {
		if d.d.SafeOffset() > d.emitted {
			return true
		}
	}
	return false
}

// emit queues b with the positions it acknowledges; false when ctx ended
// first.
func (p *pipeline) emit(b *batch, ctx context.Context) bool {
	for f, d := range p.decoders {
		p.addFormatStats(d) // the decoders are the reader's: counted here for the collector
		if off := d.d.SafeOffset(); off > d.emitted {
			b.acks = append(b.acks, ack{f, off})
			d.emitted = off
		}
	}
	if b.b.N == 0 && len(b.acks) == 0 {
		return true
	}
	p.buffered.Add(int64(len(b.b.NDJSON)))
	if !b.first.IsZero() {
		p.oldest.CompareAndSwap(0, b.first.UnixNano())
	}
	select {
	case p.batches <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

// forget drops the decoders of files quiet for a while with nothing
// pending; emit has counted them.
func (p *pipeline) forget(now time.Time) {
	for f, d := range p.decoders {
		if lines, _ := d.d.Pending(); lines == 0 && now.Sub(d.last) > time.Minute && d.d.SafeOffset() == d.emitted {
			delete(p.decoders, f)
		}
	}
}

func (p *pipeline) addFormatStats(d *decoder) {
	now := d.d.Stats()
	tot := *p.m.format.Load()
	tot.Lines += now.Lines - d.seen.Lines
	tot.Records += now.Records - d.seen.Records
	tot.Joined += now.Joined - d.seen.Joined
	tot.Truncated += now.Truncated - d.seen.Truncated
	tot.TruncatedBytes += now.TruncatedBytes - d.seen.TruncatedBytes
	for i := range tot.Malformed {
		tot.Malformed[i] += now.Malformed[i] - d.seen.Malformed[i]
	}
	d.seen = now
	p.m.format.Store(&tot)
}

// send delivers the batches in order, each until the sink acknowledges it
// (retrying with backoff: a refused batch is never dropped), then moves
// the cursor and asks for a checkpoint.
func (p *pipeline) send(ctx context.Context, ck *checkpointer) {
	cfg := &p.s.cfg
	for b := range p.batches {
		if !b.first.IsZero() {
			p.oldest.Store(b.first.UnixNano()) // the oldest not yet acknowledged
		}
		for attempt := 0; b.b.N > 0; attempt++ {
			err := p.sink.Send(ctx, &b.b)
			if err == nil {
				p.m.acked.Add(1)
				p.m.records.Add(uint64(b.b.N))
				p.m.bytes.Add(uint64(len(b.b.NDJSON)))
				break
			}
			p.m.failed.Add(1)
			if ctx.Err() != nil {
				return // not acknowledged: the checkpoint stays, the lines are sent again after a restart
			}
			d := min(cfg.RetryMax, 500*time.Millisecond<<min(attempt, 10))
			d = d/2 + rand.N(d/2+1)
			cfg.Logger.Warn("sink refused a batch; it is sent again", "sink", p.name, "records", b.b.N, "attempt", attempt+1, "retry_in", d.Round(time.Millisecond), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		for _, a := range b.acks {
			p.cursor.Ack(a.file, a.off)
		}
		p.buffered.Add(-int64(len(b.b.NDJSON)))
		p.oldest.Store(0)
		p.recycle(b)
		select {
		case p.room <- struct{}{}:
		default:
		}
		ck.dirty()
	}
}
