package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/podkit/podkit/internal/bench/statsdload/load"
)

// idleWait is how long the servers idle before their idle RSS is read.
const idleWait = 3 * time.Second

// memory is one target's VmRSS (KiB) through the memory phase, with the
// scrape times at the largest series count.
type memory struct {
	Target string `json:"target"`
	Kind   string `json:"kind"` // counter or timer
	// IdleKiB is 3 s after start, before any line.
	IdleKiB int64 `json:"idle_kib"`
	// Loaded is by series count, right after loading that many series
	// (each sent twice over TCP, which loses nothing) and one second.
	Loaded []loaded `json:"loaded"`
	// ScrapedKiB is after each of the timed scrapes at the last count.
	ScrapedKiB []int64   `json:"scraped_kib"`
	ScrapeSec  []float64 `json:"scrape_seconds"` // gzip, request to last byte
	WireBytes  int64     `json:"scrape_wire_bytes"`
	Scrapes    int       `json:"scrapes"` // all of mabench's scrapes of it, waiting ones included
}

type loaded struct {
	Series  int   `json:"series"`
	KiB     int64 `json:"kib"`
	Scrapes int   `json:"scrapes_before"` // mabench's scrapes so far: each can grow the heap
}

// memoryPhase starts fresh servers, reads idle RSS, loads series of kind
// (counter or timer) up to each count in counts, reading RSS after each,
// then scrapes each target n times, alternating, and reads RSS after every
// scrape: flat means the scrape itself keeps nothing.
func (r *runner) memoryPhase(ctx context.Context, names []string, kind string, counts []int, n int, log io.Writer) ([]memory, error) {
	ts, err := r.env.startAll(names, r.opts.buffers[len(r.opts.buffers)-1])
	if err != nil {
		return nil, err
	}
	defer stopAll(ts)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(idleWait):
	}
	mem := make([]memory, len(ts))
	for i, t := range ts {
		mem[i].Target, mem[i].Kind = t.Name, kind
		if mem[i].IdleKiB, err = t.rssKiB(); err != nil {
			return nil, err
		}
	}
	for _, c := range counts {
		for _, t := range ts {
			// Each series twice: statsd_exporter creates a series on its first
			// line, and a second one shows it is kept, not re-created.
			cfg := load.Config{Network: "tcp", Addr: t.TCPAddr, Prefix: prefix, Types: []string{kind}, Series: c, Lines: 2 * int64(c), Size: r.opts.size}
			p, err := r.payload(cfg)
			if err != nil {
				return nil, err
			}
			before, err := t.fetch(ctx, r.env)
			if err != nil {
				return nil, err
			}
			sent, err := load.Send(ctx, cfg, p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			after, err := t.wait(ctx, r.env, before.Lines()+float64(sent.Counted), waitBig)
			if err != nil {
				return nil, fmt.Errorf("%s: loading %d %s series: %w", t.Name, c, kind, err)
			}
			if got := after.Lines() - before.Lines(); got != float64(sent.Counted) {
				return nil, fmt.Errorf("%s: loading %d %s series over TCP: %.0f of %d lines counted", t.Name, c, kind, got, sent.Counted)
			}
			series := after.CounterSeries
			if kind == "timer" {
				series = after.TimerSeries
			}
			if series < c {
				return nil, fmt.Errorf("%s: %d %s series shown after loading %d", t.Name, series, kind, c)
			}
		}
		time.Sleep(time.Second)
		for i, t := range ts {
			kib, err := t.rssKiB()
			if err != nil {
				return nil, err
			}
			mem[i].Loaded = append(mem[i].Loaded, loaded{Series: c, KiB: kib, Scrapes: t.scrapes})
			fmt.Fprintf(log, "mabench: %-15s %6d %s series: RSS %s after %d scrapes\n", t.Name, c, kind, mib(kib), t.scrapes)
		}
	}
	for i := range n {
		order := slices.Clone(ts)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			s, err := t.fetch(ctx, r.env)
			if err != nil {
				return nil, err
			}
			kib, err := t.rssKiB()
			if err != nil {
				return nil, err
			}
			j := slices.Index(ts, t)
			mem[j].ScrapeSec = append(mem[j].ScrapeSec, s.Duration.Seconds())
			mem[j].ScrapedKiB = append(mem[j].ScrapedKiB, kib)
			mem[j].WireBytes = s.WireBytes
			fmt.Fprintf(log, "mabench: %-15s scrape %2d/%d at %d %s series: %.3f s, %d bytes gzipped, RSS %s\n",
				t.Name, i+1, n, counts[len(counts)-1], kind, s.Duration.Seconds(), s.WireBytes, mib(kib))
		}
	}
	for i, t := range ts {
		mem[i].Scrapes = t.scrapes
	}
	return mem, nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
