package logsaver

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/logsaver/format"
	"github.com/podkit/podkit/pkg/logsaver/sink"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

var (
	descBatches = prometheus.NewDesc("podkit_logsaver_sink_batches_total",
		"Batches sent to a sink, by result: acked (the sink acknowledged them; the checkpoint moves) or failed (tried again).", []string{"sink", "result"}, nil)
	descRetries = prometheus.NewDesc("podkit_logsaver_sink_retries_total",
		"Attempts a sink repeated inside one send (HTTP 5xx, 429, connection errors), before it acknowledged or failed the batch.", []string{"sink"}, nil)
	descRecords = prometheus.NewDesc("podkit_logsaver_sink_records_total",
		"Records acknowledged by a sink.", []string{"sink"}, nil)
	descBytes = prometheus.NewDesc("podkit_logsaver_sink_bytes_total",
		"NDJSON bytes acknowledged by a sink, before compression.", []string{"sink"}, nil)
	descBuffered = prometheus.NewDesc("podkit_logsaver_sink_buffered_bytes",
		"NDJSON bytes of a sink's batches not yet acknowledged; reading pauses at --max-buffer-bytes.", []string{"sink"}, nil)
	descOldest = prometheus.NewDesc("podkit_logsaver_sink_oldest_unacked_seconds",
		"Age of the oldest record a sink has not acknowledged yet (0: none).", []string{"sink"}, nil)
	descLines = prometheus.NewDesc("podkit_logsaver_read_lines_total",
		"Lines read, per sink and source file (the name it was first seen under: a rotated file counts under its original name).", []string{"sink", "path"}, nil)
	descReadBytes = prometheus.NewDesc("podkit_logsaver_read_bytes_total",
		"Bytes of lines read, per sink and source file.", []string{"sink", "path"}, nil)
	descLag = prometheus.NewDesc("podkit_logsaver_lag_bytes",
		"Bytes written to a file and not yet read for a sink.", []string{"sink", "path"}, nil)
	descOpen = prometheus.NewDesc("podkit_logsaver_open_files",
		"Files held open: live (matched by --path) or rotated (renamed away or deleted, kept until every sink has read and acknowledged them).", []string{"state"}, nil)
	descLong = prometheus.NewDesc("podkit_logsaver_long_lines_total",
		"Lines over --max-line-bytes, per sink: split (nothing lost) or truncated (the rest dropped, as asked).", []string{"sink", "action"}, nil)
	descDropped = prometheus.NewDesc("podkit_logsaver_dropped_bytes_total",
		"Bytes of lines dropped, by reason: truncated (a line or joined entry cut at its size limit).", []string{"sink", "reason"}, nil)
	descMalformed = prometheus.NewDesc("podkit_logsaver_malformed_lines_total",
		"Lines that did not parse in --format, shipped as they are, by reason.", []string{"sink", "reason"}, nil)
	descJoined = prometheus.NewDesc("podkit_logsaver_joined_records_total",
		"Records made of several lines (partial runtime lines, multiline entries).", []string{"sink"}, nil)
	descSaves = prometheus.NewDesc("podkit_logsaver_checkpoint_saves_total",
		"Checkpoint writes, by result.", []string{"result"}, nil)
	descLastSave = prometheus.NewDesc("podkit_logsaver_checkpoint_last_success_timestamp_seconds",
		"When the checkpoint was last written.", nil, nil)
)

type collector struct{ s *Saver }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBatches, descRetries, descRecords, descBytes, descBuffered, descOldest, descLines, descReadBytes,
		descLag, descOpen, descLong, descDropped, descMalformed, descJoined, descSaves, descLastSave} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, lv...)
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	now := time.Now()
	for _, p := range c.s.pipelines {
		counter(descBatches, float64(p.m.acked.Load()), p.name, "acked")
		counter(descBatches, float64(p.m.failed.Load()), p.name, "failed")
		if ss, ok := p.sink.(sink.StatsSource); ok {
			counter(descRetries, float64(ss.Stats().Retried), p.name)
		}
		counter(descRecords, float64(p.m.records.Load()), p.name)
		counter(descBytes, float64(p.m.bytes.Load()), p.name)
		gauge(descBuffered, float64(p.buffered.Load()), p.name)
		age := 0.0
		if o := p.oldest.Load(); o != 0 {
			age = now.Sub(time.Unix(0, o)).Seconds()
		}
		gauge(descOldest, age, p.name)
		fs := p.m.format.Load()
		counter(descJoined, float64(fs.Joined), p.name)
		counter(descDropped, float64(fs.TruncatedBytes), p.name, "truncated")
		for r := range format.NumReasons {
			counter(descMalformed, float64(fs.Malformed[r]), p.name, format.Reason(r).String())
		}
	}
	st := c.s.tailer.Stats()
	lines, bytes, lag := c.s.readCounts.update(st)
	var live, rotated float64
	for _, f := range st.Files {
		if f.Present {
			live++
		} else {
			rotated++
		}
	}
	for k, v := range lines {
		counter(descLines, v, k.sink, k.path)
		counter(descReadBytes, bytes[k], k.sink, k.path)
		gauge(descLag, lag[k], k.sink, k.path)
	}
	gauge(descOpen, live, "live")
	gauge(descOpen, rotated, "rotated")
	for _, cs := range st.Cursors {
		counter(descLong, float64(cs.Split), cs.Name, "split")
		counter(descLong, float64(cs.Trunc), cs.Name, "truncated")
	}
	counter(descSaves, float64(c.s.saves.ok.Load()), "success")
	counter(descSaves, float64(c.s.saves.failed.Load()), "failure")
	if l := c.s.saves.last.Load(); l != 0 {
		gauge(descLastSave, float64(l)/1e9)
	}
}

// readCounts keeps the per-path read counters from going down: a closed
// file's counts stay in its path's total while some file of that path is
// open; after that the series ends (the paths of closed files are not
// kept for ever).
type readCounts struct {
	mu     sync.Mutex
	last   map[fileKey]fileCount // per open file and sink, as last scraped
	closed map[pathKey][2]float64
}

type pathKey struct{ sink, path string }

type fileKey struct {
	file uint64
	sink string
}

type fileCount struct {
	path         string
	lines, bytes float64
}

func (r *readCounts) update(st tail.Stats) (lines, bytes, lag map[pathKey]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last, r.closed = map[fileKey]fileCount{}, map[pathKey][2]float64{}
	}
	lines, bytes, lag = map[pathKey]float64{}, map[pathKey]float64{}, map[pathKey]float64{}
	open := map[fileKey]bool{}
	for _, f := range st.Files {
		for _, cs := range f.Cursors {
			k := pathKey{cs.Name, f.FirstPath}
			lines[k] += float64(cs.Lines)
			bytes[k] += float64(cs.Bytes)
			lag[k] += float64(cs.Lag)
			fk := fileKey{f.File, cs.Name}
			open[fk] = true
			r.last[fk] = fileCount{f.FirstPath, float64(cs.Lines), float64(cs.Bytes)}
		}
	}
	for fk, fc := range r.last {
		if !open[fk] {
			k := pathKey{fk.sink, fc.path}
			c := r.closed[k]
			r.closed[k] = [2]float64{c[0] + fc.lines, c[1] + fc.bytes}
			delete(r.last, fk)
		}
	}
	for k, c := range r.closed {
		if _, ok := lines[k]; !ok {
			delete(r.closed, k)
			continue
		}
		lines[k] += c[0]
		bytes[k] += c[1]
	}
	return lines, bytes, lag
}
