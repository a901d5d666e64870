package load

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
)

// Against a real memcached every response verifies, every get hits after
// the warm-up, and the figures are filled in.
func TestMemcached(t *testing.T) {
	addr := memcachedtest.Start(t).Addr
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"serial", Config{Conns: 3, Multiget: 1}},
		{"multiget 10, pipeline 8", Config{Conns: 4, Multiget: 10, Pipeline: 8}},
		{"multiget 100 with repeats, pipeline 3", Config{Conns: 2, Multiget: 100, Pipeline: 3, Keys: 500, Ops: 2000}},
		{"two addresses, sets 1:1, 2000-byte values", Config{Conns: 4, Multiget: 4, Pipeline: 2, GetWeight: 1, SetWeight: 1, ValueSize: 2000, Addrs: []string{addr, addr}}},
		{"duration", Config{Conns: 2, Multiget: 10, Pipeline: 4, Duration: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Addrs == nil {
				cfg.Addrs = []string{addr}
			}
			if cfg.Duration == 0 && cfg.Ops == 0 {
				cfg.Ops = 20000
			}
			cfg.Keys = max(cfg.Keys, 2000)
			cfg.KeyPrefix = "t" + strconv.Itoa(int(time.Now().UnixNano())) + ":"
			cfg.Warmup = true
			cfg.Seed = 7
			res, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Check(0); err != nil {
				t.Fatalf("%v\n%v", err, res.ErrorSamples)
			}
			if cfg.Ops > 0 && res.Ops != cfg.Ops {
				t.Errorf("ops = %d, want %d", res.Ops, cfg.Ops)
			}
			if res.Ops == 0 || res.OpsPerSec <= 0 || res.Gets == 0 || res.Sets == 0 {
				t.Errorf("empty figures: %+v", res)
			}
			if res.Warmup.Sets != int64(cfg.Keys) {
				t.Errorf("warm-up sets = %d, want %d", res.Warmup.Sets, cfg.Keys)
			}
			if res.HitRatio != 1 {
				t.Errorf("hit ratio %v after warm-up, want 1", res.HitRatio)
			}
			want := int64(cfg.Multiget) * res.Gets
			if res.GetKeys != want {
				t.Errorf("get keys = %d, want %d", res.GetKeys, want)
			}
			l := res.Latency.All
			if l.Count != res.Ops || !(0 < l.P50US && l.P50US <= l.P99US && l.P99US <= l.P999US && l.P999US <= l.MaxUS) {
				t.Errorf("latency %+v", l)
			}
			if res.Self.Seconds <= 0 || res.Self.SecondsPerMillion <= 0 {
				t.Errorf("generator CPU %+v", res.Self)
			}
		})
	}
}

// A target's CPU is sampled around the measured phase.
func TestMemcachedTargetCPU(t *testing.T) {
	mc := memcachedtest.Start(t)
	addr, pid := mc.Addr, mc.Pid
	res, err := Run(t.Context(), Config{Addrs: []string{addr}, Conns: 2, Multiget: 10, Pipeline: 4, Ops: 20000, PIDs: []int{pid}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 || res.Targets[0].PID != pid {
		t.Fatalf("targets %+v", res.Targets)
	}
	if tg := res.Targets[0]; tg.Seconds <= 0 || tg.SecondsPerMillion <= 0 {
		t.Errorf("memcached used no CPU under load: %+v", tg)
	}
}

// The generator allocates nothing per request (it shares the machine with
// what it measures): only per connection and per run.
func TestAllocsPerRequest(t *testing.T) {
	addr := memcachedtest.Start(t).Addr
	for _, depth := range []int{1, 8} {
		cfg := Config{Addrs: []string{addr}, Conns: 4, Multiget: 10, Pipeline: depth, Ops: 40000}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := Run(t.Context(), cfg)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Check(0); err != nil {
			t.Fatal(err)
		}
		perOp := float64(after.Mallocs-before.Mallocs) / float64(res.Ops)
		t.Logf("pipeline %d: %d allocations for %d requests", depth, after.Mallocs-before.Mallocs, res.Ops)
		if perOp > 0.02 {
			t.Errorf("pipeline %d: %.3f allocations per request", depth, perOp)
		}
	}
}
