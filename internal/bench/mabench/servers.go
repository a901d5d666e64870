package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/statsdload/load"
)

// prefix is the metric prefix of mabench's load: statsdload.counter, ...
const prefix = "mabench"

// bins are the programs measured.
type bins struct {
	podkit, statsdExporter string
}

// env is what every phase shares.
type env struct {
	bins      bins
	dir       string
	client    *http.Client
	maxSeries int  // podkit --max-series
	started   int  // servers started so far: names their logs
	nice      bool // mabench runs at loadNice; servers are set back to 0
}

// target is one running server: podkit metrics-adapter or statsd_exporter.
type target struct {
	Name       string
	Buffer     int // read buffer asked for, bytes; -1: the OS default
	UDPAddr    string
	TCPAddr    string
	MetricsURL string
	PID        int
	udpPort    int
	p          *benchkit.Proc
	scrapes    int // of MetricsURL by mabench since start
}

// fetch scrapes the target's /metrics once.
func (t *target) fetch(ctx context.Context, e *env) (load.Scrape, error) {
	t.scrapes++
	s, err := load.Fetch(ctx, e.client, t.MetricsURL, prefix)
	if err != nil && !t.p.Alive() {
		return s, t.p.Failed("died")
	}
	return s, err
}

// Polling of load.Wait: at 1k series a scrape takes milliseconds; at 100k
// it is hundreds, and every scrape counts towards RSS growth, so wait longer
// before the first and between them.
type waitPolicy struct{ first, poll, quiet, limit time.Duration }

var (
	waitSmall = waitPolicy{0, 20 * time.Millisecond, 500 * time.Millisecond, 30 * time.Second}
	waitBig   = waitPolicy{time.Second, time.Second, 3 * time.Second, 120 * time.Second}
)

// wait scrapes until want counted lines show or the count stops changing.
func (t *target) wait(ctx context.Context, e *env, want float64, w waitPolicy) (load.Scrape, error) {
	if w.first > 0 {
		select {
		case <-ctx.Done():
			return load.Scrape{}, ctx.Err()
		case <-time.After(w.first):
		}
	}
	s, n, err := load.Wait(ctx, e.client, t.MetricsURL, prefix, want, w.poll, w.quiet, w.limit)
	t.scrapes += n
	if err != nil && !t.p.Alive() {
		return s, t.p.Failed("died")
	}
	return s, err
}

func (t *target) rssKiB() (int64, error) {
	kib, err := benchkit.RSSKiB(t.PID)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", t.Name, err)
	}
	return kib, nil
}

func (t *target) stop() { t.p.Stop() }

// start runs the named server with the given read buffer (-1: the OS
// default) on fresh loopback ports, and waits until /metrics answers (and
// for podkit /readyz). A port found free may be taken before the server
// binds it, so it tries again.
func (e *env) start(name string, buffer int) (*target, error) {
	var last error
	for range 3 {
		t, err := e.tryStart(name, buffer)
		if err == nil {
			return t, nil
		}
		last = err
	}
	return nil, last
}

func (e *env) tryStart(name string, buffer int) (*target, error) {
	udp, err := benchkit.FreeAddr("udp")
	if err != nil {
		return nil, err
	}
	var tcp, web, admin string
	for _, a := range []*string{&tcp, &web, &admin} {
		if *a, err = benchkit.FreeAddr("tcp"); err != nil {
			return nil, err
		}
	}
	e.started++
	logPath := filepath.Join(e.dir, fmt.Sprintf("%s-%d.log", name, e.started))
	var p *benchkit.Proc
	switch name {
	case "statsd_exporter":
		args := []string{"--statsd.listen-udp=" + udp, "--statsd.listen-tcp=" + tcp, "--web.listen-address=" + web}
		if buffer >= 0 {
			args = append(args, "--statsd.read-buffer="+strconv.Itoa(buffer))
		}
		p, err = benchkit.Start(name, logPath, e.bins.statsdExporter, args...)
	case "podkit":
		p, err = benchkit.Start(name, logPath, e.bins.podkit, "metrics-adapter",
			"--statsd-udp-addr", udp, "--statsd-tcp-addr", tcp, "--metrics-addr", web, "--admin-addr", admin,
			"--read-buffer", strconv.Itoa(buffer), "--max-series", strconv.Itoa(e.maxSeries))
	default:
		return nil, fmt.Errorf("unknown target %q", name)
	}
	if err != nil {
		return nil, err
	}
	t := &target{Name: name, Buffer: buffer, UDPAddr: udp, TCPAddr: tcp, MetricsURL: "http://" + web + "/metrics", PID: p.PID(), p: p}
	_, port, _ := net.SplitHostPort(udp)
	t.udpPort, _ = strconv.Atoi(port)
	if err := p.WaitHTTP(t.MetricsURL); err != nil {
		p.Stop()
		return nil, err
	}
	if name == "podkit" {
		if err := p.WaitHTTP("http://" + admin + "/readyz"); err != nil {
			p.Stop()
			return nil, err
		}
	}
	if e.nice {
		// The child inherited mabench's raised priority.
		if err := setNice(t.PID, 0); err != nil {
			p.Stop()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return t, nil
}

// startAll starts every named server with the buffer; on an error it stops
// those it started.
func (e *env) startAll(names []string, buffer int) ([]*target, error) {
	var ts []*target
	for _, n := range names {
		t, err := e.start(n, buffer)
		if err != nil {
			stopAll(ts)
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func stopAll(ts []*target) {
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i].stop()
	}
}
