package hashkit

import (
	"fmt"
	"testing"
)

// A typical key and pool: 30 bytes, four servers.
var (
	benchKey     = []byte("user:1234567:session:abcdefghi")
	benchServers = []Server{
		{Addr: "10.0.0.1:11211", Weight: 1},
		{Addr: "10.0.0.2:11211", Weight: 1},
		{Addr: "10.0.0.3:11211", Weight: 1},
		{Addr: "10.0.0.4:11211", Weight: 1},
	}
)

func BenchmarkPick(b *testing.B) {
	for _, h := range Hashes() {
		for _, d := range []Distribution{Ketama, Modula} {
			b.Run(fmt.Sprintf("%s/%s", h, d), func(b *testing.B) {
				r, err := New(Config{Hash: h, Distribution: d, Servers: benchServers})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(benchKey)))
				for b.Loop() {
					r.Pick(benchKey)
				}
			})
		}
	}
	b.Run("fnv1a_64/random", func(b *testing.B) {
		r, _ := New(Config{Distribution: Random, Servers: benchServers})
		b.ReportAllocs()
		for b.Loop() {
			r.Pick(benchKey)
		}
	})
	b.Run("fnv1a_64/ketama/hashtag", func(b *testing.B) {
		r, _ := New(Config{HashTag: "{}", Servers: benchServers})
		key := []byte("user:{1234567}:session:abcdefg")
		b.ReportAllocs()
		for b.Loop() {
			r.Pick(key)
		}
	})
	b.Run("fnv1a_64/ketama/100servers", func(b *testing.B) {
		var servers []Server
		for i := range 100 {
			servers = append(servers, Server{Addr: fmt.Sprintf("10.0.%d.%d:11211", i/250, i%250)})
		}
		r, _ := New(Config{Servers: servers})
		b.ReportAllocs()
		for b.Loop() {
			r.Pick(benchKey)
		}
	})
}

func BenchmarkPickParallel(b *testing.B) {
	r, _ := New(Config{Servers: benchServers})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Pick(benchKey)
		}
	})
}

// Building a ring happens at start, on reload and on every ejection or
// rejoin.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{4, 100} {
		b.Run(fmt.Sprintf("ketama/%dservers", n), func(b *testing.B) {
			var servers []Server
			for i := range n {
				servers = append(servers, Server{Addr: fmt.Sprintf("10.0.%d.%d:11211", i/250, i%250)})
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(Config{Servers: servers}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("ketama/WithLive/4servers", func(b *testing.B) {
		r, _ := New(Config{Servers: benchServers})
		live := []bool{true, false, true, true}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.WithLive(live); err != nil {
				b.Fatal(err)
			}
		}
	})
}
