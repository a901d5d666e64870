package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/statsdload/load"
)

// step is one send to one target and what arrived.
type step struct {
	Asked      float64 `json:"asked_lines_per_sec"` // 0: flat out
	Rate       float64 `json:"sent_lines_per_sec"`  // achieved by the sender
	Sent       int64   `json:"sent"`                // counted lines (all of them: counters)
	Received   float64 `json:"received"`
	Loss       float64 `json:"loss"`
	Drops      uint64  `json:"kernel_drops"` // datagrams, /proc/net/udp (UDP only)
	Seconds    float64 `json:"seconds"`      // send start until counted (TCP) or until sending stopped (UDP)
	CPUSec     float64 `json:"cpu_seconds"`  // the server's
	CPUPerM    float64 `json:"cpu_seconds_per_million"`
	LoadCPUSec float64 `json:"statsdload_cpu_seconds"`
}

func (s step) lossless(maxLoss float64) bool { return s.Loss < maxLoss }

// run sends cfg to t and waits until the server has counted what arrived.
func (r *runner) step(ctx context.Context, t *target, cfg load.Config) (step, error) {
	cfg.Addr, cfg.Prefix = t.UDPAddr, prefix
	if cfg.Network == "tcp" {
		cfg.Addr = t.TCPAddr
	}
	p, err := r.payload(cfg)
	if err != nil {
		return step{}, err
	}
	before, err := t.fetch(ctx, r.env)
	if err != nil {
		return step{}, err
	}
	drops0, _ := load.UDPDrops(t.udpPort)
	cpu0, err := benchkit.CPU(t.PID)
	if err != nil {
		return step{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	t0 := time.Now()
	sent, err := load.Send(ctx, cfg, p)
	if err != nil {
		return step{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	after, err := t.wait(ctx, r.env, before.Lines()+float64(sent.Counted), waitSmall)
	if err != nil {
		return step{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	elapsed := time.Since(t0)
	cpu1, err := benchkit.CPU(t.PID)
	if err != nil {
		return step{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	drops1, _ := load.UDPDrops(t.udpPort)
	s := step{
		Asked: cfg.Rate, Rate: sent.Rate, Sent: sent.Counted, Received: after.Lines() - before.Lines(),
		Drops: drops1 - drops0, Seconds: sent.Duration.Seconds(),
		CPUSec: (cpu1 - cpu0).Seconds(), LoadCPUSec: sent.CPU.Seconds(),
	}
	if cfg.Network == "tcp" {
		// TCP loses nothing: the rate is the server's, until all was counted.
		s.Seconds = elapsed.Seconds()
		s.Rate = s.Received / s.Seconds
	}
	if s.Sent > 0 {
		s.Loss = 1 - s.Received/float64(s.Sent)
	}
	if s.Received > 0 {
		s.CPUPerM = s.CPUSec / s.Received * 1e6
	}
	return s, nil
}

// payload builds cfg's datagrams once per shape: with 100k series the
// build takes a while and would otherwise eat into the servers' time.
func (r *runner) payload(cfg load.Config) (*load.Payload, error) {
	key := cfg
	key.Addr, key.Rate, key.Duration, key.Lines, key.Network, key.Sockets = "", 0, 0, 0, "", 0
	k := fmt.Sprintf("%+v", key)
	if p, ok := r.payloads[k]; ok {
		return p, nil
	}
	p, err := load.Build(cfg)
	if err != nil {
		return nil, err
	}
	r.payloads[k] = p
	return p, nil
}

// search is one target's search for its highest lossless UDP rate in one
// round.
type search struct {
	Target  string  `json:"target"`
	Buffer  int     `json:"buffer"`
	Round   int     `json:"round"`
	Steps   []step  `json:"steps"`
	Best    float64 `json:"best_lines_per_sec"` // highest achieved rate with loss under the limit; 0: none
	BestCPU float64 `json:"best_cpu_seconds_per_million"`
	// Capped: the best step was the sender's limit, not the server's.
	Capped bool `json:"sender_capped"`
}

// udpSearch finds the highest rate with loss under maxLoss in at most
// o.steps steps of o.step each. The first round starts from what arrived
// flat out; later rounds start from the previous rounds' median. It goes up
// by 30% or down to below what arrived until it has a lossless and a lossy
// rate, then bisects them (geometrically) until they are within 8%.
func (r *runner) udpSearch(ctx context.Context, t *target, round int, start float64, log io.Writer) (search, error) {
	o := r.opts
	cfg := load.Config{Network: "udp", Series: o.series, Size: o.size, OneLine: o.oneLine, Sockets: o.sockets, Duration: o.step}
	res := search{Target: t.Name, Buffer: t.Buffer, Round: round}
	var lo, hi float64 // highest lossless achieved rate; lowest lossy asked rate
	do := func(rate float64) (step, error) {
		cfg.Rate = rate
		s, err := r.step(ctx, t, cfg)
		if err != nil {
			return s, err
		}
		res.Steps = append(res.Steps, s)
		verdict := "lossy"
		if s.lossless(o.maxLoss) {
			verdict = "ok"
		}
		fmt.Fprintf(log, "mabench: round %d/%d %-15s buffer %-7s udp %8s -> sent %8.0f/s, loss %7.3f%%, kernel drops %6d, cpu %.2f s/M (statsdload %3.0f%% of a core)  %s\n",
			round, o.rounds, t.Name, bufName(t.Buffer), rateName(rate), s.Rate, 100*s.Loss, s.Drops, s.CPUPerM, 100*s.LoadCPUSec/s.Seconds, verdict)
		return s, nil
	}
	rate := start
	if rate <= 0 {
		s, err := do(0)
		if err != nil {
			return res, err
		}
		if s.lossless(o.maxLoss) {
			lo, res.Best, res.BestCPU, res.Capped = s.Rate, s.Rate, s.CPUPerM, true
			return res, nil // the server takes all the sender can send
		}
		hi = s.Rate
		rate = 0.9 * s.Received / s.Seconds
	}
	for range o.steps {
		s, err := do(rate)
		if err != nil {
			return res, err
		}
		if s.lossless(o.maxLoss) {
			if s.Rate > lo {
				lo, res.Best, res.BestCPU = s.Rate, s.Rate, s.CPUPerM
			}
			if s.Rate < 0.95*rate { // the sender fell behind: its limit
				res.Capped = true
				break
			}
		} else if hi == 0 || rate < hi {
			hi = rate
		}
		switch {
		case hi == 0:
			rate *= 1.3
		case lo == 0:
			// Below what arrived, by more the more was lost.
			rate *= min(0.85, max(0.5, 0.85*(1-s.Loss)))
		case hi/lo < 1.08:
			return res, nil
		default:
			rate = math.Sqrt(lo * hi)
		}
	}
	return res, nil
}

// fixed is a run at one load, the same for every target: CPU per line at a
// UDP rate all of them take, or TCP flat out over one connection.
type fixed struct {
	Target string `json:"target"`
	Buffer int    `json:"buffer"`
	Round  int    `json:"round"`
	step
}

func (r *runner) fixed(ctx context.Context, t *target, round int, cfg load.Config, what string, log io.Writer) (fixed, error) {
	s, err := r.step(ctx, t, cfg)
	if err != nil {
		return fixed{}, err
	}
	fmt.Fprintf(log, "mabench: round %d/%d %-15s buffer %-7s %-22s -> %8.0f lines/s, loss %7.3f%%, cpu %.2f s/M (statsdload %.2f s)\n",
		round, r.opts.rounds, t.Name, bufName(t.Buffer), what, s.Rate, 100*s.Loss, s.CPUPerM, s.LoadCPUSec)
	return fixed{Target: t.Name, Buffer: t.Buffer, Round: round, step: s}, nil
}

// ratePhase measures every buffer size with fresh servers: per round, each
// target's UDP search, then the fixed UDP rate, then (first buffer only) TCP
// flat out; targets in an order reversed on even rounds, so that drift of
// this noisy machine hits each alike.
func (r *runner) ratePhase(ctx context.Context, names []string, log io.Writer) (searches []search, cpu, tcp []fixed, err error) {
	o := r.opts
	for bi, buf := range o.buffers {
		ts, err := r.env.startAll(names, buf)
		if err != nil {
			return nil, nil, nil, err
		}
		err = func() error {
			defer stopAll(ts)
			// Warm up: the first seconds of a Go server (heap growth, GC
			// pacing) are not its steady state.
			for _, t := range ts {
				if _, err := r.step(ctx, t, load.Config{Network: "udp", Series: o.series, Size: o.size, OneLine: o.oneLine,
					Sockets: o.sockets, Rate: o.cpuRate, Duration: time.Second}); err != nil {
					return err
				}
			}
			best := map[string][]float64{}
			for round := 1; round <= o.rounds; round++ {
				order := slices.Clone(ts)
				if round%2 == 0 {
					slices.Reverse(order)
				}
				for _, t := range order {
					s, err := r.udpSearch(ctx, t, round, benchkit.Median(best[t.Name]), log)
					if err != nil {
						return err
					}
					if s.Best > 0 {
						best[t.Name] = append(best[t.Name], s.Best)
					}
					searches = append(searches, s)
				}
				for _, t := range order {
					f, err := r.fixed(ctx, t, round, load.Config{Network: "udp", Series: o.series, Size: o.size, OneLine: o.oneLine,
						Sockets: o.sockets, Rate: o.cpuRate, Duration: o.cpuDuration}, "udp "+rateName(o.cpuRate), log)
					if err != nil {
						return err
					}
					cpu = append(cpu, f)
				}
				if bi > 0 || o.tcpDuration <= 0 {
					continue
				}
				for _, t := range order {
					f, err := r.fixed(ctx, t, round, load.Config{Network: "tcp", Series: o.series, Size: o.size,
						Sockets: 1, Duration: o.tcpDuration}, "tcp flat out, 1 conn", log)
					if err != nil {
						return err
					}
					tcp = append(tcp, f)
				}
			}
			return nil
		}()
		if err != nil {
			return nil, nil, nil, err
		}
	}
	return searches, cpu, tcp, nil
}

func rateName(r float64) string {
	if r == 0 {
		return "flat out"
	}
	return fmt.Sprintf("%.0fk/s", r/1000)
}

func bufName(b int) string {
	switch {
	case b < 0:
		return "default"
	case b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d B", b)
}
