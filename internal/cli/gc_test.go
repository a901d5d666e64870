package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	t.Setenv("GOGC", "200") // restored by t.Setenv's cleanup
	TuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GC percent = %d, want it left at 100", got)
	}

	os.Unsetenv("GOGC")
	TuneGC()
	if got := debug.SetGCPercent(100); got != DefaultGOGC {
		t.Errorf("with GOGC unset, GC percent = %d, want %d", got, DefaultGOGC)
	}
}
