package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// runner holds what every run shares.
type runner struct {
	opts    options
	up      *upstream
	self    string // this binary: the baseline
	dir     string // logs
	rootDir string // roots
	log     io.Writer
}

// targetRun is one target's figures in one round.
type targetRun struct {
	Target      string    `json:"target"`
	Round       int       `json:"round"`
	InitialSec  float64   `json:"initial_sync_s"`
	LatenciesMs []float64 `json:"push_to_swap_ms"`
	MedianMs    float64   `json:"push_to_swap_median_ms"`
	MaxMs       float64   `json:"push_to_swap_max_ms"`
	IdleCPUPct  float64   `json:"idle_cpu_pct"`          // of one core, children included
	IdleRSSKiB  int64     `json:"idle_rss_kib"`          // VmRSS at the idle window's end (the baseline: the loop alone)
	PeakKiB     int64     `json:"peak_rss_kib"`          // podkit: VmHWM; baseline: loop VmHWM + largest child ru_maxrss
	SampledKiB  int64     `json:"sampled_tree_peak_kib"` // largest sum of VmRSS over the process tree, 50 ms samples
	OwnPeakKiB  int64     `json:"own_peak_kib"`          // VmHWM of the process itself
	MaxChildKiB int64     `json:"max_child_kib,omitempty"`
	MaxChild    string    `json:"max_child,omitempty"`
	Children    int       `json:"children,omitempty"`
	DiskKiB     int64     `json:"disk_kib"` // du of the root after the pushes
	Trees       int       `json:"trees"`    // entries in ROOT/.worktrees then
	Failures    int       `json:"failures"` // failed syncs the baseline logged
	ReadyzOK    bool      `json:"readyz_ok,omitempty"`
	// podkit, at the end: go_memstats_heap_alloc_bytes after a forced GC
	// (/debug/pprof/heap?gc=1), and VmRSS then.
	LiveHeapKiB   int64    `json:"live_heap_after_gc_kib,omitempty"`
	RSSAfterGCKiB int64    `json:"rss_after_gc_kib,omitempty"`
	Metrics       []string `json:"metrics,omitempty"` // podkit_gitsync_* lines of /metrics after the pushes
	Log           string   `json:"log"`
}

const linkName = "site"

// runTarget starts target in a fresh root and takes its figures; it stops
// the target before returning.
func (b *runner) runTarget(ctx context.Context, target string, round int) (*targetRun, error) {
	o := b.opts
	root, err := os.MkdirTemp(b.rootDir, "root-"+target+"-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(root)
	}
	r := &targetRun{Target: target, Round: round + 1, Log: filepath.Join(b.dir, fmt.Sprintf("%s-%d.log", target, round+1))}
	var (
		p      *benchkit.Proc
		admin  string
		sumF   = filepath.Join(b.dir, fmt.Sprintf("%s-%d.summary.json", target, round+1))
		start  = time.Now()
		period = o.period.String()
	)
	switch target {
	case tPodkit:
		if admin, err = benchkit.FreeAddr("tcp"); err != nil {
			return nil, err
		}
		args := append([]string{"gitsync", "--repo", b.up.url, "--root", root, "--link", linkName, "--period", period,
			"--admin-addr", admin, "--max-failures", "-1"}, o.podkitArgs...)
		start = time.Now()
		p, err = benchkit.Start("podkit gitsync", r.Log, o.bin, args...)
	case tGit:
		// env execs the baseline in place: the pid is the loop's.
		args := append([]string{baselineEnv + "=1"}, gitEnv(b.up.home)...)
		args = append(args, b.self, "-repo", b.up.url, "-ref", b.up.ref, "-root", root, "-link", linkName,
			"-period", period, "-summary", sumF)
		start = time.Now()
		p, err = benchkit.Start("git baseline", r.Log, "env", args...)
	}
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	pid := p.PID()
	smp := startSampler(pid, 0)
	defer func() {
		if smp != nil {
			smp.pause()
		}
	}()
	link := filepath.Join(root, linkName)

	// Initial sync.
	at, err := b.waitLink(ctx, p, link, b.up.head, start)
	if err != nil {
		return nil, fmt.Errorf("initial sync: %w", err)
	}
	r.InitialSec = at.Sub(start).Seconds()
	if err := b.checkTree(link, true); err != nil {
		return nil, p.Failed("published a wrong tree at the initial sync: " + err.Error())
	}
	if target == tPodkit {
		if err := p.WaitHTTP("http://" + admin + "/readyz"); err != nil {
			fmt.Fprintln(b.log, "gitbench: podkit /readyz:", err)
		} else {
			r.ReadyzOK = true
		}
	}

	// Idle.
	sleep(ctx, o.settle)
	peak := smp.pause()
	smp = nil
	c0, err := benchkit.CPUWithChildren(pid)
	if err != nil {
		return nil, p.Failed("idle: " + err.Error())
	}
	t0 := time.Now()
	sleep(ctx, o.idle)
	c1, err := benchkit.CPUWithChildren(pid)
	if err != nil {
		return nil, p.Failed("idle: " + err.Error())
	}
	r.IdleCPUPct = 100 * (c1 - c0).Seconds() / time.Since(t0).Seconds()
	r.IdleRSSKiB, _ = benchkit.StatusKiB(pid, "VmRSS")
	smp = startSampler(pid, peak) // the idle window is not sampled: no bench load then

	// Pushes.
	rng := rand.New(rand.NewPCG(o.seed, uint64(round)))
	for i := range o.pushes {
		sleep(ctx, o.gap+time.Duration(rng.Int64N(int64(o.period))))
		hash, pushed, err := b.up.push(i)
		if err != nil {
			return nil, fmt.Errorf("push %d: %w", i+1, err)
		}
		at, err := b.waitLink(ctx, p, link, hash, pushed)
		if err != nil {
			return nil, fmt.Errorf("push %d (%s): %w", i+1, hash[:12], err)
		}
		r.LatenciesMs = append(r.LatenciesMs, float64(at.Sub(pushed).Microseconds())/1000)
		if err := b.checkTree(link, false); err != nil {
			return nil, p.Failed(fmt.Sprintf("published a wrong tree at push %d: %s", i+1, err))
		}
	}
	r.MedianMs = benchkit.Median(r.LatenciesMs)
	r.MaxMs = maxOf(r.LatenciesMs)
	sleep(ctx, o.settle)
	r.SampledKiB = smp.pause()
	smp = nil
	if r.DiskKiB, err = diskKiB(root); err != nil {
		return nil, fmt.Errorf("du %s: %w", root, err)
	}
	r.Trees = countTrees(filepath.Join(root, ".worktrees"))
	r.OwnPeakKiB, _ = benchkit.StatusKiB(pid, "VmHWM")
	if target == tPodkit {
		r.Metrics = scrape("http://" + admin + "/metrics")
		// After every figure: what of the idle RSS is live heap. The heap
		// profile with gc=1 runs a GC first; the RSS after it is the
		// process's, Go's runtime having kept what it did not return.
		if get("http://"+admin+"/debug/pprof/heap?gc=1") == nil {
			r.LiveHeapKiB = gaugeKiB(scrape("http://"+admin+"/metrics"), "go_memstats_heap_alloc_bytes")
			r.RSSAfterGCKiB, _ = benchkit.StatusKiB(pid, "VmRSS")
		}
	}
	if !p.Alive() {
		return nil, p.Failed("exited during the run")
	}
	p.Stop()
	r.PeakKiB = r.OwnPeakKiB
	if target == tGit {
		var s baselineSummary
		j, err := os.ReadFile(sumF)
		if err == nil {
			err = json.Unmarshal(j, &s)
		}
		if err != nil {
			return nil, p.Failed("no summary: " + err.Error())
		}
		r.MaxChildKiB, r.MaxChild, r.Children, r.Failures = s.MaxChildKiB, s.MaxChild, s.Children, s.Failures
		r.PeakKiB += s.MaxChildKiB
	}
	return r, nil
}

// waitLink polls readlink of link every 5 ms until it names the tree of
// hash, and returns when it first saw it. A process that exits, a -timeout
// or ctx ends the wait with the process's log.
func (b *runner) waitLink(ctx context.Context, p *benchkit.Proc, link, hash string, since time.Time) (time.Time, error) {
	want := filepath.Join(".worktrees", hash)
	deadline := since.Add(b.opts.timeout)
	last := ""
	for {
		target, err := os.Readlink(link)
		now := time.Now()
		if err == nil && (target == want || strings.HasSuffix(target, "/"+want)) {
			return now, nil
		}
		if err == nil {
			last = target
		}
		if !p.Alive() {
			return now, p.Failed("exited before the link pointed at " + hash)
		}
		if now.After(deadline) {
			return now, p.Failed(fmt.Sprintf("did not point the link at %s within %s (it points at %q)", hash, b.opts.timeout, last))
		}
		if ctx.Err() != nil {
			return now, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkTree checks the published tree: the file the last commit changed
// has that commit's content; with all, every file is there too.
func (b *runner) checkTree(link string, all bool) error {
	got, err := os.ReadFile(filepath.Join(link, b.up.lastPath))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, b.up.lastData) {
		return fmt.Errorf("%s: %d bytes differ from the commit's %d", b.up.lastPath, len(got), len(b.up.lastData))
	}
	if !all {
		return nil
	}
	n := 0
	err = filepath.WalkDir(link+"/", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" { // the baseline's worktree has a .git file
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err == nil && n != b.up.files {
		err = fmt.Errorf("%d files, want %d", n, b.up.files)
	}
	return err
}

// scrape returns the podkit_gitsync_* sample lines of a /metrics page.
func scrape(url string) []string {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "podkit_gitsync_") && !strings.Contains(line, "_bucket{") ||
			strings.HasPrefix(line, "go_memstats_heap_") || strings.HasPrefix(line, "process_resident_memory_bytes") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		out = append(out, "error: "+err.Error())
	}
	return out
}

func get(url string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return err
}

// gaugeKiB reads an unlabelled sample in bytes from scraped lines.
func gaugeKiB(lines []string, name string) int64 {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return int64(f / 1024)
			}
		}
	}
	return 0
}

// countTrees counts the published trees: directories named by a commit
// hash (podkit keeps its manifests and state beside them).
func countTrees(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 40 && strings.Trim(e.Name(), "0123456789abcdef") == "" {
			n++
		}
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
