package publish

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchSnap is a 5,000-file, ~50 MB tree (10 KiB per file) in 350
// directories, as in issue 7's figures. Generation gen changes file 0, or
// every file if all.
func benchSnap(gen int, all bool) Snapshot {
	const n, size = 5000, 10 << 10
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	s := make(Snapshot, n)
	for i := range s {
		h := fmt.Sprintf("h%d", i)
		if all || i == 0 {
			h = fmt.Sprintf("h%d-%d", i, gen)
		}
		s[i] = Entry{Path: fmt.Sprintf("dir%02d/sub%d/file%04d.txt", i%50, i%7, i), Mode: Regular, Size: size, Hash: h,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }}
	}
	return s
}

// BenchmarkPublish5000 publishes back to back: "one-changed" changes one
// file per publish (linked otherwise); "full" changes every file, which is
// what a full checkout into a new worktree (git-sync) writes. Old trees are
// removed as they go (StaleTimeout 0), so the time includes removing the
// tree two back and making the next spare, which run in the background but
// compete with the next publish.
func BenchmarkPublish5000(b *testing.B) {
	benchPublish(b, false)
}

// BenchmarkPublishLatency5000 measures push-to-swap latency alone: like
// BenchmarkPublish5000, but between publishes the clock stops until the
// background work of the last one is done, as when pushes are seconds apart.
func BenchmarkPublishLatency5000(b *testing.B) {
	benchPublish(b, true)
}

func benchPublish(b *testing.B, settle bool) {
	for _, sync := range []bool{true, false} {
		for _, all := range []bool{false, true} {
			name := map[bool]string{false: "one-changed", true: "full"}[all]
			b.Run(fmt.Sprintf("%s/sync=%v", name, sync), func(b *testing.B) {
				p := &Publisher{Root: b.TempDir(), Link: "current", NoSync: !sync}
				defer p.Close()
				if _, err := p.Publish(b.Context(), "g0", benchSnap(0, false)); err != nil {
					b.Fatal(err)
				}
				before := p.Stats()
				gen := 0
				for b.Loop() {
					gen++
					snap := benchSnap(gen, all)
					if settle {
						b.StopTimer()
						p.settle()
						b.StartTimer()
					}
					if _, err := p.Publish(b.Context(), fmt.Sprintf("g%d", gen), snap); err != nil {
						b.Fatal(err)
					}
				}
				st := p.Stats()
				b.ReportMetric(float64(st.BytesWritten-before.BytesWritten)/float64(gen), "written-B/op")
				b.ReportMetric(float64(st.FilesLinked-before.FilesLinked)/float64(gen), "linked/op")
			})
		}
	}
}

// settle waits for the background work of the last publish.
func (p *Publisher) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rm.wait()
	p.sp.wg.Wait()
}
