package sink

import "sync/atomic"

// Stats are a sink's counters since it was made; logsaver exports them as
// per-sink Prometheus counters. All only grow.
type Stats struct {
	Acked     uint64 // batches acknowledged (Send returned nil)
	Failed    uint64 // Send calls that returned an error
	Permanent uint64 // of Failed, those with a permanent error (ErrPermanent)
	Retried   uint64 // attempts repeated inside Send after a retryable error
	Records   uint64 // records in acknowledged batches
	Bytes     uint64 // NDJSON bytes in acknowledged batches, before compression
	WireBytes uint64 // bytes acknowledged as written or sent, after compression
	Files     uint64 // file sink: files completed (renamed to their final name)
}

// A StatsSource reports its Stats; every sink in this package is one.
type StatsSource interface {
	Stats() Stats
}

// counters backs Stats; Send updates it, Stats reads it from any goroutine.
type counters struct {
	acked, failed, permanent, retried, records, bytes, wire, files atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Acked:     c.acked.Load(),
		Failed:    c.failed.Load(),
		Permanent: c.permanent.Load(),
		Retried:   c.retried.Load(),
		Records:   c.records.Load(),
		Bytes:     c.bytes.Load(),
		WireBytes: c.wire.Load(),
		Files:     c.files.Load(),
	}
}

// ack counts a delivered batch of n records, raw NDJSON bytes, wire bytes
// after compression.
func (c *counters) ack(n int, raw, wire int) {
	c.acked.Add(1)
	c.records.Add(uint64(n))
	c.bytes.Add(uint64(raw))
	c.wire.Add(uint64(wire))
}
