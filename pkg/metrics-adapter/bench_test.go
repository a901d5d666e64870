package metricsadapter

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

// BenchmarkPacket is the per-line cost of parsing, mapping and storing:
// 1400-byte datagrams of counters over 1,000 series, with the side-by-side
// test's mapping file.
func BenchmarkPacket(b *testing.B) {
	for _, tc := range []struct {
		name string
		line func(i int) string
	}{
		{"counter", func(i int) string { return fmt.Sprintf("load.counter.%d:1|c", i%1000) }},
		{"counter-tags", func(i int) string { return fmt.Sprintf("load.counter.%d:1|c|#env:prod,az:a%d", i%100, i%10) }},
		{"timer", func(i int) string { return fmt.Sprintf("load.timer.%d:%d|ms", i%1000, i%500) }},
		{"mapped", func(i int) string { return fmt.Sprintf("test.dispatcher.P%d.send.success:1|c", i%1000) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			mp, err := mapping.Parse([]byte(compareMapping))
			if err != nil {
				b.Fatal(err)
			}
			a, err := New(Config{StatsdUDPAddr: "127.0.0.1:0", Mapping: mp, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			var packets [][]byte
			lines := 0
			for i := 0; len(packets) < 64; {
				var p []byte
				for len(p) < 1350 {
					p = append(p, tc.line(i)...)
					p = append(p, '\n')
					i++
					lines++
				}
				packets = append(packets, p[:len(p)-1])
			}
			h := a.newStatsdHandler()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h(packets[i%len(packets)])
			}
			b.ReportMetric(float64(b.N)*float64(lines)/float64(len(packets))/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
