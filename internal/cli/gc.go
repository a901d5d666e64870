package cli

import (
	"os"
	"runtime/debug"
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
