package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/logtest"
)

// runner holds what every run shares.
type runner struct {
	opts options
	dir  string // work directory
	self string // this binary: the reference shipper
	log  io.Writer
}

// shipper is one run's shipper, restarted across kill -9s.
type shipper struct {
	r       *runner
	target  string
	name    string // for logs
	runDir  string
	path    string   // --path
	sinks   *sinks   // where it ships
	flags   []string // extra podkit flags
	p       *proc
	starts  int
	cpu     time.Duration // of the incarnations killed so far
	peakKiB int64         // the most VmHWM of any incarnation
}

// start starts (or restarts) the shipper and waits until it is ready.
func (s *shipper) start() error {
	logPath := filepath.Join(s.runDir, s.target+".log")
	var err error
	if s.target == tReference {
		from := "beginning"
		if s.starts > 0 {
			from = "end" // no checkpoint: a restart starts at the end, as tail -F
		}
		s.p, err = startProc("reference shipper", logPath, s.r.self, []string{naiveEnv + "=1"},
			"-path", s.path, "-url", s.sinks.urls()[0], "-start", from)
		s.starts++
		return err
	}
	addr, err := benchkit.FreeAddr("tcp")
	if err != nil {
		return err
	}
	args := []string{"logsaver", "--path", s.path, "--state-dir", filepath.Join(s.runDir, "state"), "--admin-addr", addr}
	for _, u := range s.sinks.urls() {
		args = append(args, "--sink", u)
	}
	args = append(append(args, s.flags...), s.r.opts.extra...)
	if s.p, err = startProc("podkit logsaver", logPath, s.r.opts.bin, nil, args...); err != nil {
		return err
	}
	s.starts++
	return s.p.waitHTTP("http://" + addr + "/readyz")
}

// sample adds the running incarnation's CPU and peak RSS so far.
func (s *shipper) sample() (cpu time.Duration, peakKiB int64) {
	c, _ := benchkit.CPU(s.p.pid())
	h, _ := hwmKiB(s.p.pid())
	return s.cpu + c, max(s.peakKiB, h)
}

// kill9 kills the running incarnation, keeping its figures.
func (s *shipper) kill9() {
	s.cpu, s.peakKiB = s.sample()
	s.p.kill()
}

// stop ends the shipper with SIGTERM; it returns the exit code and the
// figures of every incarnation.
func (s *shipper) stop() (code int, cpu time.Duration, peakKiB int64) {
	cpu, peakKiB = s.sample()
	return s.p.stop(20 * time.Second), cpu, peakKiB
}

// tput is one throughput run.
type tput struct {
	Target   string       `json:"target"`
	Sink     string       `json:"sink"`
	Round    int          `json:"round"`
	Lines    int64        `json:"lines"`
	Seconds  float64      `json:"seconds"` // process start to the last line delivered
	Rate     float64      `json:"lines_per_second"`
	CPUSec   float64      `json:"cpu_seconds"`
	CPUPerM  float64      `json:"cpu_seconds_per_million"`
	PeakKiB  int64        `json:"peak_rss_kib"`
	BenchCPU float64      `json:"bench_cpu_seconds"` // this process: the receiver or file counting
	Complete bool         `json:"complete"`          // every line arrived within -timeout
	Exit     int          `json:"exit_code"`
	Results  []sinkResult `json:"results"`
}

func (r *runner) throughputPhase(ctx context.Context) ([]tput, error) {
	o := r.opts
	if o.lines == 0 {
		return nil, nil
	}
	in := filepath.Join(r.dir, "backlog", source)
	if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
		return nil, err
	}
	w, err := logtest.NewWriter(logtest.WriterConfig{Path: in, LineSize: o.lineSize, Lines: o.lines})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := w.Run(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "logbench: backlog of %d lines written in %.1fs\n", o.lines, time.Since(t0).Seconds())
	var out []tput
	for round := 1; round <= o.rounds; round++ {
		targets := slices.Clone(o.targets)
		if round%2 == 0 {
			slices.Reverse(targets)
		}
		for _, sink := range o.sinks {
			for _, t := range targets {
				if t == tReference && sink != "http" {
					continue
				}
				res, err := r.throughput(ctx, t, sink, round, in)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(r.log, "logbench: throughput %s -> %s round %d: %.0f lines/s, %.2f CPU-s/M, peak RSS %.1f MiB, complete %v\n",
					t, sink, round, res.Rate, res.CPUPerM, float64(res.PeakKiB)/1024, res.Complete)
				out = append(out, res)
			}
		}
	}
	return out, nil
}

func (r *runner) throughput(ctx context.Context, target, sink string, round int, in string) (tput, error) {
	res := tput{Target: target, Sink: sink, Round: round, Lines: r.opts.lines}
	runDir := filepath.Join(r.dir, fmt.Sprintf("tput-%s-%s-%d", target, sink, round))
	fileDir := ""
	if sink == "file" {
		fileDir = filepath.Join(runDir, "out")
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return res, err
	}
	sk := newSinks(sink == "http", fileDir)
	defer sk.close()
	s := &shipper{r: r, target: target, runDir: runDir, path: in, sinks: sk}
	u0, s0 := benchkit.SelfCPU()
	t0 := time.Now()
	if err := s.start(); err != nil {
		return res, err
	}
	defer s.p.stop(time.Second) // on error
	deadline := t0.Add(r.opts.timeout)
	for {
		if sk.least() >= res.Lines {
			res.Complete = true
			break
		}
		if !s.p.alive() {
			return res, s.p.failed("exited during the throughput run")
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.Seconds = time.Since(t0).Seconds()
	u1, s1 := benchkit.SelfCPU()
	res.BenchCPU = (u1 + s1 - u0 - s0).Seconds()
	code, cpu, peak := s.stop()
	res.Exit, res.CPUSec, res.PeakKiB = code, cpu.Seconds(), peak
	res.Rate = float64(sk.least()) / res.Seconds
	res.CPUPerM = res.CPUSec / (float64(res.Lines) / 1e6)
	var err error
	res.Results, err = sk.check(1, res.Lines)
	return res, err
}

// scenario is one fault scenario.
type scenario struct {
	Name   string
	Rotate logtest.Rotation
	Glob   bool // --path DIR/app.log* (the rotated copies too)
	Kills  int
	Outage int // the http sink's status while down; 0: no outage
}

func (r *runner) scenario(name string) scenario {
	switch name {
	case "rename":
		return scenario{Name: name, Rotate: logtest.RotateRename}
	case "copytruncate":
		return scenario{Name: name, Rotate: logtest.RotateCopyTruncate, Glob: true}
	case "delete":
		return scenario{Name: name, Rotate: logtest.RotateDelete}
	case "kill9":
		return scenario{Name: name, Rotate: logtest.RotateRename, Glob: true, Kills: r.opts.kills}
	case "outage503":
		return scenario{Name: name, Rotate: logtest.RotateNone, Outage: 503}
	default: // outage429
		return scenario{Name: name, Rotate: logtest.RotateNone, Outage: 429}
	}
}

// fault is one fault scenario run.
type fault struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Path     string  `json:"path"` // --path, relative to the run directory
	Rate     float64 `json:"rate"`
	Written  int64   `json:"written"`
	Rotated  int     `json:"rotated"`
	Starts   int     `json:"starts"`
	PeakKiB  int64   `json:"peak_rss_kib"`
	// Outage scenarios: RSS as the sink came back, the bytes written while
	// it was down, and the seconds from its return until the lines written
	// by then had all arrived (-1: never).
	OutageEndKiB int64   `json:"outage_end_rss_kib,omitempty"`
	BacklogBytes int64   `json:"backlog_bytes,omitempty"`
	DrainSec     float64 `json:"drain_seconds,omitempty"`
	CatchUpSec   float64 `json:"catch_up_seconds"` // writer's end to the last line (or to giving up)
	CPUSec       float64 `json:"cpu_seconds"`
	Exit         int     `json:"exit_code"`
	// MissingAtStop is, by sink, what was missing when the run's shipper
	// was stopped, when anything was: podkit is then started once more
	// with the same --state-dir for RecoverySec, and Results are after it.
	MissingAtStop []int64      `json:"missing_at_stop,omitempty"`
	RecoverySec   float64      `json:"recovery_seconds,omitempty"`
	Results       []sinkResult `json:"results"`
}

func (r *runner) faultPhase(ctx context.Context) ([]fault, error) {
	var out []fault
	for _, name := range r.opts.scenarios {
		for _, t := range r.opts.targets {
			f, err := r.fault(ctx, r.scenario(name), t)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", name, t, err)
			}
			for _, sr := range f.Results {
				fmt.Fprintf(r.log, "logbench: %s %s -> %s: %v\n", name, t, sr.Sink, sr.Report)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func (r *runner) fault(ctx context.Context, sc scenario, target string) (fault, error) {
	o := r.opts
	rate := o.rate
	if sc.Outage != 0 {
		rate = o.outageRate
	}
	res := fault{Scenario: sc.Name, Target: target, Rate: rate}
	runDir := filepath.Join(r.dir, "fault-"+sc.Name+"-"+target)
	logDir := filepath.Join(runDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return res, err
	}
	logPath := filepath.Join(logDir, source)
	fileDir := ""
	if target == tPodkit {
		fileDir = filepath.Join(runDir, "out")
	}
	sk := newSinks(true, fileDir)
	defer sk.close()
	s := &shipper{r: r, target: target, runDir: runDir, path: logPath, sinks: sk}
	if sc.Glob && target == tPodkit {
		s.path = logPath + "*"
	}
	if sc.Outage != 0 && target == tPodkit {
		s.flags = []string{"--max-buffer-bytes", o.maxBuffer}
	}
	res.Path, _ = filepath.Rel(runDir, s.path)
	every := time.Duration(0)
	if sc.Rotate != logtest.RotateNone {
		every = o.rotateEvery
	}
	w, err := logtest.NewWriter(logtest.WriterConfig{Path: logPath, LineSize: o.lineSize, Rate: rate,
		Lines: int64(rate * o.duration.Seconds()), Rotate: sc.Rotate, Every: every, Keep: 10000})
	if err != nil {
		return res, err
	}
	if err := s.start(); err != nil {
		return res, err
	}
	defer func() { s.p.stop(time.Second) }() // on error
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	werr := make(chan error, 1)
	t0 := time.Now()
	go func() { werr <- w.Run(wctx) }()

	// The faults' times from the writer's start.
	var kills []time.Duration
	for i := range sc.Kills {
		kills = append(kills, o.duration*time.Duration(i+1)/time.Duration(sc.Kills+1))
	}
	downAt, upAt := o.duration/6, o.duration/6+o.outage
	var wroteAtUp int64 = -1
	var bytesAtDown int64
	down := false
	var upTime time.Time
	res.DrainSec = -1

	writing := true
	var wEnd, lastProgress time.Time
	var last int64 = -1
	deadline := t0.Add(o.duration + o.timeout)
	for {
		now := time.Now()
		el := now.Sub(t0)
		if len(kills) > 0 && el >= kills[0] {
			kills = kills[1:]
			s.kill9()
			time.Sleep(o.down)
			if err := s.start(); err != nil {
				return res, err
			}
		}
		if sc.Outage != 0 && !down && wroteAtUp < 0 && el >= downAt {
			sk.rc.Down(sc.Outage)
			down = true
			if fi, err := os.Stat(logPath); err == nil {
				bytesAtDown = fi.Size()
			}
		}
		if sc.Outage != 0 && wroteAtUp < 0 && el >= upAt {
			// What the writer has put on disk so far (it flushes before it
			// sleeps, and RotateNone keeps one file) is the backlog to drain.
			fi, _ := os.Stat(logPath)
			wroteAtUp = fi.Size() / int64(o.lineSize)
			res.OutageEndKiB, _ = benchkit.RSSKiB(s.p.pid())
			res.BacklogBytes = fi.Size() - bytesAtDown
			sk.rc.Up()
			down = false
			upTime = time.Now()
		}
		if wroteAtUp >= 0 && res.DrainSec < 0 && sk.httpCount() >= wroteAtUp {
			res.DrainSec = time.Since(upTime).Seconds()
		}
		if !s.p.alive() {
			return res, s.p.failed("exited during the run")
		}
		if writing {
			select {
			case err := <-werr:
				if err != nil {
					return res, fmt.Errorf("writer: %w", err)
				}
				writing = false
				wEnd, lastProgress = time.Now(), time.Now()
				res.Written, res.Rotated = w.Written, w.Rotated
			default:
			}
		}
		outageOver := sc.Outage == 0 || wroteAtUp >= 0
		if !writing && outageOver {
			n := sk.least()
			if n >= res.Written {
				break
			}
			if n != last {
				last, lastProgress = n, time.Now()
			}
			if time.Since(lastProgress) > o.settle {
				break // no progress: lines lost, or stuck
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if now.After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if writing {
		cancel()
		<-werr
		res.Written, res.Rotated, wEnd = w.Written, w.Rotated, time.Now()
	}
	res.CatchUpSec = time.Since(wEnd).Seconds()
	code, cpu, peak := s.stop()
	res.Exit, res.CPUSec, res.PeakKiB = code, cpu.Seconds(), peak
	if res.Results, err = sk.check(1, res.Written); err != nil {
		return res, err
	}
	// Lines missing at the stop may still be in the files, behind podkit's
	// checkpoint: one more start with the same --state-dir tells lines
	// delivered late (not lost) from lines lost for good.
	if target == tPodkit && slices.ContainsFunc(res.Results, func(r sinkResult) bool { return r.Report.Missing > 0 }) {
		for _, r := range res.Results {
			res.MissingAtStop = append(res.MissingAtStop, r.Report.Missing)
		}
		if err := s.start(); err != nil {
			return res, err
		}
		t1 := time.Now()
		s.waitFor(ctx, res.Written, time.Now().Add(o.timeout))
		res.RecoverySec = time.Since(t1).Seconds()
		if code, _, _ := s.stop(); code != 0 {
			res.Exit = code
		}
		if res.Results, err = sk.check(1, res.Written); err != nil {
			return res, err
		}
	}
	res.Starts = s.starts
	return res, nil
}

// waitFor waits until every sink has want lines, or -settle passes without
// progress, or deadline.
func (s *shipper) waitFor(ctx context.Context, want int64, deadline time.Time) {
	last, lastProgress := int64(-1), time.Now()
	for ctx.Err() == nil && time.Now().Before(deadline) && s.p.alive() {
		n := s.sinks.least()
		if n >= want {
			return
		}
		if n != last {
			last, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > s.r.opts.settle {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
