package listen

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

type nopHandler struct{}

func (nopHandler) Event(*statsd.Event)         {}
func (nopHandler) Error(statsd.Reason, []byte) {}

// BenchmarkUDPFlatOut sends b.N 1400-byte datagrams of counter lines flat
// out from 8 source ports and parses them with statsd.Parser. It reports
// lines/s taken and the loss (kernel drops) — a ceiling on one machine
// where senders and readers share the cores, not the lossless rate.
//
//	go test -run XXX -bench UDPFlatOut -benchtime 200000x ./pkg/metrics-adapter/listen/
func BenchmarkUDPFlatOut(b *testing.B) {
	var line strings.Builder
	lines := 0
	for line.Len() < 1400-30 {
		fmt.Fprintf(&line, "bench.metric.name_%02d:1|c\n", lines%100)
		lines++
	}
	payload := []byte(line.String())
	for _, tc := range []struct{ sockets, readers int }{{1, 1}, {0, 1}, {0, 2}} {
		b.Run(fmt.Sprintf("sockets=%d/readers=%d", tc.sockets, tc.readers), func(b *testing.B) {
			l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: tc.sockets, ReadersPerSocket: tc.readers,
				NewHandler: func() Handler {
					p, _ := statsd.New(statsd.Config{})
					return func(pkt []byte) { p.Parse(pkt, nopHandler{}) }
				}})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error)
			go func() { done <- l.Run(b.Context()) }()
			const senders = 8
			var cs []net.Conn
			for range senders {
				c, err := net.Dial("udp", l.UDPAddr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				cs = append(cs, c)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, c := range cs {
				n := b.N / senders
				if i == 0 {
					n += b.N % senders
				}
				wg.Go(func() {
					for range n {
						c.Write(payload)
					}
				})
			}
			wg.Wait()
			// Loopback delivers on send: each datagram is queued or dropped.
			var ks KernelStats
			for range 10000 {
				ks, _ = l.KernelStats()
				if l.Stats().UDP.Packets+ks.Drops >= uint64(b.N) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			got := l.Stats().UDP.Packets
			b.ReportMetric(float64(got)*float64(lines)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(100*float64(ks.Drops)/float64(b.N), "%loss")
			l.Close()
			<-done
		})
	}
}

// BenchmarkUDPPaced sends 1400-byte datagrams (56 lines each) from 4
// source ports at a fixed rate for one second per target, parses them,
// and reports the loss: the highest target under 0.1% is the lossless
// rate on this machine (senders share its cores).
//
//	go test -run XXX -bench UDPPaced -benchtime 1x ./pkg/metrics-adapter/listen/
func BenchmarkUDPPaced(b *testing.B) {
	var line strings.Builder
	lines := 0
	for line.Len() < 1400-30 {
		fmt.Fprintf(&line, "bench.metric.name_%02d:1|c\n", lines%100)
		lines++
	}
	payload := []byte(line.String())
	for _, rcvbuf := range []int{-1, DefaultReadBuffer} {
		for _, klines := range []int{550, 1500, 3000, 4500, 6000} {
			b.Run(fmt.Sprintf("rcvbuf=%d/klines=%d", rcvbuf, klines), func(b *testing.B) {
				l, err := Listen(Config{UDPAddr: "127.0.0.1:0", ReadBuffer: rcvbuf,
					NewHandler: func() Handler {
						p, _ := statsd.New(statsd.Config{})
						return func(pkt []byte) { p.Parse(pkt, nopHandler{}) }
					}})
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error)
				go func() { done <- l.Run(b.Context()) }()
				const senders = 4
				perTick := klines * 1000 / lines / 1000 / senders // datagrams per ms per sender
				var wg sync.WaitGroup
				sent := 0
				for range senders {
					c, err := net.Dial("udp", l.UDPAddr().String())
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					sent += perTick * 1000 * b.N
					wg.Go(func() {
						t0 := time.Now()
						for tick := range 1000 * b.N {
							if d := time.Until(t0.Add(time.Duration(tick) * time.Millisecond)); d > 0 {
								time.Sleep(d)
							}
							for range perTick {
								c.Write(payload)
							}
						}
					})
				}
				wg.Wait()
				var ks KernelStats
				for range 10000 {
					ks, _ = l.KernelStats()
					if l.Stats().UDP.Packets+ks.Drops >= uint64(sent) {
						break
					}
					time.Sleep(time.Millisecond)
				}
				b.ReportMetric(float64(sent*lines)/b.Elapsed().Seconds(), "lines/s")
				b.ReportMetric(100*float64(ks.Drops)/float64(sent), "%loss")
				l.Close()
				<-done
			})
		}
	}
}
