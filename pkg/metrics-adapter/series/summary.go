package series

import (
	"math"
	"math/rand/v2"
	"slices"
)

// reservoir is a summary's bounded sample store: AgeBuckets windows of
// family.window ns each, the newest being cur, each keeping at most
// Config.SummarySamples samples chosen uniformly (Vitter's algorithm R)
// from the observations that fell in it. Quantiles are computed over all
// live windows, each sample weighted by seen/len(samples) of its window,
// so they cover the last (AgeBuckets-1)*window to AgeBuckets*window of
// time, like client_golang's MaxAge/AgeBuckets rotation.
type reservoir struct {
	start int64 // start of window cur
	cur   int
	wins  []window
}

type window struct {
	seen    uint64
	samples []float64
}

func newReservoir(f *family, now int64) *reservoir {
	return &reservoir{start: now, wins: make([]window, f.ageBuckets)}
}

// rotate advances the windows to now, emptying those that aged out.
func (r *reservoir) rotate(now, w int64) {
	if now < r.start+w {
		return
	}
	k := (now - r.start) / w
	for i := int64(0); i < min(k, int64(len(r.wins))); i++ {
		r.cur = (r.cur + 1) % len(r.wins)
		r.wins[r.cur].seen = 0
		r.wins[r.cur].samples = r.wins[r.cur].samples[:0]
	}
	r.start += k * w
}

func (r *reservoir) observe(v float64, n uint64, now int64, f *family, capacity int) {
	r.rotate(now, f.window)
	w := &r.wins[r.cur]
	for n > 0 && len(w.samples) < capacity {
		if w.samples == nil {
			w.samples = make([]float64, 0, min(capacity, 4))
		}
		w.samples = append(w.samples, v)
		w.seen++
		n--
	}
	if n == 0 {
		return
	}
	if n <= uint64(capacity) {
		for ; n > 0; n-- {
			w.seen++
			if j := rand.Uint64N(w.seen); j < uint64(capacity) {
				w.samples[j] = v
			}
		}
		return
	}
	// A large repeat (a low sample rate): give the value the share of
	// slots it would hold in expectation after n single draws.
	w.seen += n
	k := int(float64(capacity)*float64(n)/float64(w.seen) + 0.5)
	for range k {
		w.samples[rand.IntN(capacity)] = v
	}
}

type weighted struct{ v, w float64 }

// quantiles appends one value per f.quantiles to out: the smallest sample
// whose cumulative weight reaches q of the total; NaN with no samples in
// the live windows (as client_golang reports an empty summary).
func (r *reservoir) quantiles(out []float64, now int64, f *family, buf []weighted) ([]float64, []weighted) {
	r.rotate(now, f.window)
	buf = buf[:0]
	total := 0.0
	for i := range r.wins {
		w := &r.wins[i]
		if len(w.samples) == 0 {
			continue
		}
		wt := float64(w.seen) / float64(len(w.samples))
		for _, v := range w.samples {
			buf = append(buf, weighted{v, wt})
		}
		total += float64(w.seen)
	}
	if len(buf) == 0 {
		for range f.quantiles {
			out = append(out, math.NaN())
		}
		return out, buf
	}
	slices.SortFunc(buf, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	j, cum := 0, buf[0].w
	for _, q := range f.quantiles {
		target := q * total
		for cum < target && j < len(buf)-1 {
			j++
			cum += buf[j].w
		}
		out = append(out, buf[j].v)
	}
	return out, buf
}
