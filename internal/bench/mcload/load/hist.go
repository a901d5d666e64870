package load

import (
	"math"
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in nanoseconds, as HdrHistogram
// lays one out: exact below 128 ns, then 128 buckets per power of two (under
// 0.8% error), up to 2^40 ns (18 minutes; longer values count there). Adding
// is an index computation and an increment: no allocation, no lock (each
// connection has its own; they merge at the end).
type hist struct {
	counts [histBuckets]uint32
	n      int64
	sum    int64
	max    int64
}

const (
	histSubBits = 7
	histMaxExp  = 40
	histBuckets = (histMaxExp - histSubBits + 1) << histSubBits
)

func histIndex(v int64) int {
	if v < 0 {
		v = 0
	}
	if v < 1<<histSubBits {
		return int(v)
	}
	n := bits.Len64(uint64(v))
	if n > histMaxExp {
		return histBuckets - 1
	}
	return (n-histSubBits)<<histSubBits + int(v>>uint(n-histSubBits-1)&(1<<histSubBits-1))
}

// histValue is the middle of bucket i.
func histValue(i int) int64 {
	if i < 2<<histSubBits {
		return int64(i)
	}
	n := i>>histSubBits + histSubBits
	shift := uint(n - histSubBits - 1)
	low := int64(1<<histSubBits|i&(1<<histSubBits-1)) << shift
	return low + int64(1)<<shift/2
}

func (h *hist) add(ns int64) {
	h.counts[histIndex(ns)]++
	h.n++
	h.sum += ns
	if ns > h.max {
		h.max = ns
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile is the smallest bucket value with at least q of the samples at
// or below it; never above the largest sample.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency summarises one kind of request, in microseconds for a driver that
// compares runs.
type Latency struct {
	Count  int64   `json:"count"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`
}

func (h *hist) summary() Latency {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	l := Latency{Count: h.n, MaxUS: us(time.Duration(h.max))}
	if h.n > 0 {
		l.MeanUS = us(time.Duration(h.sum / h.n))
		l.P50US, l.P99US, l.P999US = us(h.quantile(0.5)), us(h.quantile(0.99)), us(h.quantile(0.999))
	}
	return l
}
