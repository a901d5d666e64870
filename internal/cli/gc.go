package cli

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultGOGC is podkit's GC target when GOGC is unset. A sidecar's live
// heap is a few hundred KiB, so Go's 4 MiB minimum heap target, not the live
// data, sets most of its memory; 50 halves that floor for a few hundredths of
// a percent of a core (see README, Footprint). A fleet multiplies the saving
// by every pod.
const DefaultGOGC = 50

// TuneGC applies DefaultGOGC unless the user set GOGC, which always wins.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGOGC)
	}
}

// DefaultReleaseInterval is how often ReleaseMemory looks at the heap.
const DefaultReleaseInterval = 10 * time.Second

// Thresholds of ReleaseMemory: an interval with less allocation than
// idleAllocs is idle, and a heap this much over what the last release left
// is worth a collection.
const (
	idleAllocs    = 1 << 20
	releaseMargin = 2 << 20
)

// ReleaseMemory returns a load spike's memory to the kernel once the process
// is idle, checking every interval (0: DefaultReleaseInterval) until ctx is
// done. Go collects only when the program allocates, so an idle process
// keeps its spike-time heap, pooled buffers included, and the background
// scavenger returns pages only down to a margin over the last heap goal.
// When an interval allocated almost nothing and the heap is a couple of MiB
// over what the last release left, this collects and returns the free
// pages (twice, so that sync.Pool's second-chance cache is dropped too),
// and the binary's pages the burst mapped back in (TrimExecutable).
func ReleaseMemory(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultReleaseInterval
	}
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	read := func() (allocs, heap uint64) {
		metrics.Read(samples)
		var v [4]uint64
		for i, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				v[i] = s.Value.Uint64()
			}
		}
		return v[0], v[1] + v[2] + v[3]
	}
	lastAllocs, _ := read()
	var floor uint64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		allocs, heap := read()
		idle := allocs-lastAllocs < idleAllocs
		lastAllocs = allocs
		if idle && heap > floor+releaseMargin {
			debug.FreeOSMemory()
			debug.FreeOSMemory()
			// The burst also mapped the binary's serving code back in.
			_, _ = TrimExecutable()
			lastAllocs, floor = read()
		}
	}
}
