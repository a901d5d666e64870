package graphite

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse: a packet of 100 lines, a fifth of them tagged and one in
// ten bad. Reports lines/s.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	const lines = 100
	for i := range lines {
		switch {
		case i%10 == 9:
			fmt.Fprintf(&sb, "servers.host%d.cpu.bad x 1700000000\n", i)
		case i%5 == 0:
			fmt.Fprintf(&sb, "servers.host%d.disk.used;dc=eu-west;disk.name=sda%d 12345.5 1700000000\n", i, i)
		default:
			fmt.Fprintf(&sb, "servers.host%d.cpu.load%d %d.25 1700000000\n", i, i%4, i)
		}
	}
	packet := []byte(sb.String())
	p, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := &counter{}
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(packet, h)
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
	if h.samples == 0 || h.errors == 0 {
		b.Fatalf("samples %d errors %d", h.samples, h.errors)
	}
}
