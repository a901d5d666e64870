package cli

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
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

// After a spike of garbage and an idle moment, the heap's pages go back to
// the kernel without any further allocation to trigger a collection.
func TestReleaseMemory(t *testing.T) {
	released := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	spike := make([][]byte, 0, 4096)
	for range 4096 {
		spike = append(spike, make([]byte, 8<<10)) // 32 MiB
	}
	// Measured while the spike is live: it may reuse pages an earlier
	// run (-count) released, which lowers the count.
	metrics.Read(released)
	before := released[0].Value.Uint64()
	runtime.KeepAlive(spike)
	spike = nil

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ReleaseMemory(ctx, 50*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		metrics.Read(released)
		if released[0].Value.Uint64() >= before+16<<20 {
			return
		}
	}
	t.Fatalf("released heap %d -> %d bytes: the spike was not returned", before, released[0].Value.Uint64())
}
