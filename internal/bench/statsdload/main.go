// Command statsdload is the statsd load generator of issue 5 (podkit
// metrics-adapter, a drop-in for prometheus/statsd_exporter): counters,
// gauges, timers and sets with tags (DogStatsD, InfluxDB, Librato or
// SignalFx style) over any number of series, prebuilt and packed into
// datagrams (1400 bytes by default, or one line each), sent over UDP or TCP
// at a set rate or flat out. Given the server's /metrics URL it scrapes it
// before and after, waits for the server to catch up, and reports how many
// counter and timer lines arrived, the loss, the kernel's drops for the
// server's UDP port, and the server's CPU per million lines (-pid).
//
// It runs in one goroutine: on a small machine it shares the cores with the
// server it measures, and its own CPU is reported so that one can tell.
// Usage errors exit 2; failures, and loss above -max-loss, exit 1.
//
//	go run ./internal/bench/statsdload -addr 127.0.0.1:9125 -rate 200000 -duration 5s -metrics http://127.0.0.1:9102/metrics
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/statsdload/load"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// result is what statsdload prints.
type result struct {
	Config   load.Config `json:"config"`
	Sent     load.Sent   `json:"sent"`
	Received *received   `json:"received,omitempty"` // with -metrics
	Server   *server     `json:"server,omitempty"`   // with -pid
}

type received struct {
	Lines       float64     `json:"lines"` // counted lines: counters and timers
	Loss        float64     `json:"loss"`  // 1 - received/sent, of counted lines
	KernelDrops *uint64     `json:"kernel_drops,omitempty"`
	Scrape      load.Scrape `json:"last_scrape"`
}

type server struct {
	PID              int     `json:"pid"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUSecPerMillion float64 `json:"cpu_seconds_per_million_lines"`
	RSSKiB           int64   `json:"rss_kib"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statsdload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     load.Config
		types   = fs.String("types", "counter", "metric types, comma-separated, sent in turn: counter, gauge, timer, set")
		tags    = fs.String("tags", "", "constant `key:value` tags on every line, comma-separated (besides series:N)")
		metrics = fs.String("metrics", "", "the server's /metrics `URL`: count received lines (counters, timers) before and after")
		pid     = fs.Int("pid", 0, "the server's `pid`: report its CPU (/proc/PID/stat) and RSS")
		maxLoss = fs.Float64("max-loss", 0.001, "with -metrics, exit 1 when the loss (a fraction) is above this")
		wait    = fs.Duration("wait", 30*time.Second, "with -metrics, longest wait for the server to catch up")
		asJSON  = fs.Bool("json", false, "print the result as JSON instead of a table")
	)
	fs.StringVar(&cfg.Network, "network", "udp", "udp or tcp")
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:9125", "the server's statsd `host:port`")
	fs.StringVar(&cfg.Prefix, "prefix", "statsdload", "metric name prefix: PREFIX.counter, PREFIX.timer, ...")
	fs.IntVar(&cfg.Series, "series", 1000, "series per type (cardinality): tag series:N, N from -first")
	fs.IntVar(&cfg.First, "first", 0, "first series number")
	fs.StringVar(&cfg.Style, "tag-style", "dogstatsd", "tag format: "+strings.Join(load.TagStyles, ", ")+" (none: the series number in the name)")
	fs.IntVar(&cfg.Size, "size", 1400, "`bytes` per UDP datagram or TCP write; lines are packed whole")
	fs.BoolVar(&cfg.OneLine, "one-line", false, "one line per datagram (or TCP write)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "lines per second over all sockets; 0: flat out")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to send (default 10s unless -n is given)")
	fs.Int64Var(&cfg.Lines, "n", 0, "stop after this many lines (whole datagrams; and -duration, if also given, whichever first)")
	fs.IntVar(&cfg.Sockets, "sockets", 1, "UDP sockets (source ports: SO_REUSEPORT spreads them over a server's readers) or TCP connections")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return code
	}
	usage := func(err error) int { return benchkit.Usage(fs, err) }
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg.Types = benchkit.Split(*types)
	cfg.Tags = benchkit.Split(*tags)
	if *maxLoss < 0 || *maxLoss > 1 {
		return usage(fmt.Errorf("-max-loss: want 0 to 1 (got %g)", *maxLoss))
	}
	p, err := load.Build(cfg)
	if err != nil {
		return usage(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := measure(ctx, cfg, p, *metrics, *pid, *wait)
	if err != nil {
		fmt.Fprintln(stderr, "statsdload:", err)
		return 1
	}
	if err := benchkit.Print(stdout, *asJSON, r, r.writeTable); err != nil {
		fmt.Fprintln(stderr, "statsdload:", err)
		return 1
	}
	if r.Received != nil && r.Received.Loss > *maxLoss {
		fmt.Fprintf(stderr, "statsdload: FAILED: loss %.4f%% is above -max-loss %.4f%%\n", 100*r.Received.Loss, 100**maxLoss)
		return 1
	}
	return 0
}

// measure sends, with a scrape before and after when metricsURL is set.
func measure(ctx context.Context, cfg load.Config, p *load.Payload, metricsURL string, pid int, wait time.Duration) (*result, error) {
	r := &result{Config: cfg}
	client := load.Client()
	defer client.CloseIdleConnections()
	var before load.Scrape
	var drops0 uint64
	var dropsErr error
	port := 0
	if metricsURL != "" {
		var err error
		if before, err = load.Fetch(ctx, client, metricsURL, cfg.Prefix); err != nil {
			return nil, err
		}
		if cfg.Network == "udp" {
			if _, ps, err := net.SplitHostPort(cfg.Addr); err == nil {
				port, _ = strconv.Atoi(ps)
			}
			drops0, dropsErr = load.UDPDrops(port)
		}
	}
	var cpu0 time.Duration
	if pid > 0 {
		var err error
		if cpu0, err = benchkit.CPU(pid); err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
	}
	sent, err := load.Send(ctx, cfg, p)
	r.Sent = sent
	if err != nil {
		return nil, err
	}
	if metricsURL != "" {
		after, _, err := load.Wait(ctx, client, metricsURL, cfg.Prefix, before.Lines()+float64(sent.Counted), 20*time.Millisecond, time.Second, wait)
		if err != nil && cfg.Network == "tcp" { // TCP loses nothing: not catching up is a failure
			return nil, err
		}
		got := after.Lines() - before.Lines()
		r.Received = &received{Lines: got, Scrape: after}
		if sent.Counted > 0 {
			r.Received.Loss = 1 - got/float64(sent.Counted)
		}
		if port > 0 && dropsErr == nil {
			if d, err := load.UDPDrops(port); err == nil {
				d -= drops0
				r.Received.KernelDrops = &d
			}
		}
	}
	if pid > 0 {
		cpu1, err := benchkit.CPU(pid)
		if err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
		s := &server{PID: pid, CPUSeconds: (cpu1 - cpu0).Seconds()}
		lines := float64(sent.Lines)
		if r.Received != nil && sent.Counted == sent.Lines {
			lines = r.Received.Lines // what the server handled, not what was lost on the way
		}
		if lines > 0 {
			s.CPUSecPerMillion = s.CPUSeconds / lines * 1e6
		}
		s.RSSKiB, _ = benchkit.RSSKiB(pid)
		r.Server = s
	}
	return r, nil
}

func (r *result) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Config
	rate := "flat out"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%.0f lines/s", c.Rate)
	}
	packing := fmt.Sprintf("%d-byte datagrams", c.Size)
	if c.OneLine {
		packing = "one line per datagram"
	}
	fmt.Fprintf(tw, "load\t%s %s, %s, %s, %d sockets; %s x %d series, tags %s\n",
		c.Network, c.Addr, rate, packing, max(c.Sockets, 1), strings.Join(c.Types, ","), c.Series, c.Style)
	s := r.Sent
	fmt.Fprintf(tw, "sent\t%d lines in %d datagrams/writes, %.1f MB, in %.2f s: %.0f lines/s\n",
		s.Lines, s.Datagrams, float64(s.Bytes)/1e6, s.Duration.Seconds(), s.Rate)
	if s.Errors > 0 {
		fmt.Fprintf(tw, "send errors\t%d (first: %s)\n", s.Errors, s.FirstErr)
	}
	fmt.Fprintf(tw, "statsdload CPU\t%.2f s (it shares the machine's cores with the server)\n", s.CPU.Seconds())
	if rc := r.Received; rc != nil {
		fmt.Fprintf(tw, "received\t%.0f of %d counted lines (counters, timers): loss %.4f%%\n", rc.Lines, s.Counted, 100*rc.Loss)
		if rc.KernelDrops != nil {
			fmt.Fprintf(tw, "kernel drops\t%d datagrams (/proc/net/udp)\n", *rc.KernelDrops)
		}
		fmt.Fprintf(tw, "last scrape\t%.3f s, %d bytes on the wire, %d samples\n", rc.Scrape.Duration.Seconds(), rc.Scrape.WireBytes, rc.Scrape.Samples)
	}
	if sv := r.Server; sv != nil {
		fmt.Fprintf(tw, "server\tpid %d: CPU %.2f s, %.2f s per million lines; RSS %.1f MiB\n", sv.PID, sv.CPUSeconds, sv.CPUSecPerMillion, float64(sv.RSSKiB)/1024)
	}
	return tw.Flush()
}
