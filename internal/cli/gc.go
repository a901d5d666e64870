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

// DefaultReleaseInterval is how often ReleaseMemory looks for idle heap.
const DefaultReleaseInterval = 10 * time.Second

// releaseThreshold is the free heap worth a forced collection to return.
const releaseThreshold = 2 << 20

// ReleaseMemory returns free heap pages to the kernel every interval (0:
// DefaultReleaseInterval) when there are more than a couple of MiB of them,
// until ctx is done. Go's background scavenger returns them too, but slowly
// and only down to a margin over the last heap goal, which a load spike
// raised: a proxy that served a burst would keep its peak RSS for minutes.
func ReleaseMemory(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultReleaseInterval
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > releaseThreshold {
			debug.FreeOSMemory()
		}
	}
}
