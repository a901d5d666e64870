package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/mcload/load"
)

// options are mcbench's flags.
type options struct {
	duration  time.Duration
	rounds    int
	conns     []int
	multiget  []int
	settle    time.Duration
	keys      int
	valueSize int
}

// target is one address measured: memcached itself or a proxy in front of
// the pool.
type target struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	PID   int    `json:"pid"` // whose CPU is sampled: the proxy, or for direct the memcached
	Proxy bool   `json:"proxy"`
	p     *benchkit.Proc
}

// point is one workload at one connection count.
type point struct {
	Multiget int `json:"multiget"`
	Conns    int `json:"conns"`
}

func (p point) workload() string {
	if p.Multiget == 1 {
		return "get"
	}
	return fmt.Sprintf("multiget %d", p.Multiget)
}

// measure runs every round: for each point, every target once, in an order
// reversed on odd rounds so that drift of this noisy machine (thermal,
// neighbours, memcached's growing slabs) hits each target alike. Progress
// goes to log.
func measure(ctx context.Context, o options, targets []target, log io.Writer) ([]pointResult, error) {
	var points []pointResult
	for _, mg := range o.multiget {
		for _, c := range o.conns {
			pr := pointResult{Point: point{Multiget: mg, Conns: c}, Runs: map[string][]*load.Result{}}
			points = append(points, pr)
		}
	}
	for round := range o.rounds {
		order := slices.Clone(targets)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for i := range points {
			pt := points[i].Point
			for _, t := range order {
				res, err := load.Run(ctx, load.Config{
					Addrs:     []string{t.Addr},
					Conns:     pt.Conns,
					Keys:      o.keys,
					KeyPrefix: "mcbench:",
					ValueSize: o.valueSize,
					GetWeight: 9,
					SetWeight: 1,
					Multiget:  pt.Multiget,
					Duration:  o.duration,
					Warmup:    true, // gets hit, as a cache in front of a database mostly does
					Seed:      uint64(round + 1),
					PIDs:      []int{t.PID},
				})
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %d conns, %s: %w", round+1, pt.workload(), pt.Conns, t.Name, err)
				}
				points[i].Runs[t.Name] = append(points[i].Runs[t.Name], res)
				fmt.Fprintf(log, "mcbench: round %d/%d %-11s %3d conns %-10s %9.0f ops/s  p99 %7.0f us  cpu %5.1f%%  errors %d\n",
					round+1, o.rounds, pt.workload(), pt.Conns, t.Name, res.OpsPerSec, res.Latency.All.P99US,
					100*targetCPU(res).CoreShare, res.Errors.Total())
			}
		}
	}
	return points, nil
}

func targetCPU(r *load.Result) load.ProcUsage {
	if len(r.Targets) == 0 {
		return load.ProcUsage{}
	}
	return r.Targets[0]
}

// memory is a proxy's VmRSS over the bench, in KiB.
type memory struct {
	Target     string  `json:"target"`
	IdleKiB    int64   `json:"idle_kib"`       // 3 s after start, before any load
	LoadedKiB  int64   `json:"after_load_kib"` // right after the last run
	SettledKiB int64   `json:"settled_kib"`    // after the settle wait; 0 without one
	MinKiB     int64   `json:"settle_min_kib"` // the least seen while settling
	SettleSec  float64 `json:"settle_seconds"`
}

// settle samples every proxy's RSS each second for d: podkit returns memory
// after a spike on its own timer, so the figure that matters comes later.
func settle(ctx context.Context, d time.Duration, targets []target, mem []memory) error {
	if d <= 0 {
		return nil
	}
	t0 := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := range mem {
		mem[i].MinKiB = mem[i].LoadedKiB
	}
	for n := int(d / time.Second); ; n-- {
		for i, t := range targets {
			kib, err := benchkit.RSSKiB(t.PID)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			mem[i].SettledKiB, mem[i].MinKiB = kib, min(mem[i].MinKiB, kib)
		}
		if n <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	for i := range mem {
		mem[i].SettleSec = time.Since(t0).Seconds()
	}
	return nil
}
