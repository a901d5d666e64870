package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// report is everything gitbench measured; -json prints it as it is.
type report struct {
	Version string        `json:"podkit_version"`
	Git     string        `json:"git_version"`
	Cores   int           `json:"cores"`
	FS      string        `json:"root_fs"`
	RootDir string        `json:"root_dir"`
	RepoKiB int64         `json:"served_repo_kib"`
	Options publicOptions `json:"options"`
	Runs    []*targetRun  `json:"runs"`
	Summary []summary     `json:"summary"` // per target, in -targets order
	Ratios  *summary      `json:"ratios,omitempty"`
	Seconds float64       `json:"seconds"`
	// BenchCPUSec is gitbench's own CPU (getrusage RUSAGE_SELF: polling,
	// sampling, making the repository), its children not included.
	BenchCPUSec float64 `json:"bench_cpu_s"`
}

// summary is a target's medians over the rounds; the push→swap figures
// pool every push of every round. In Ratios each field is podkit/git.
type summary struct {
	Target     string  `json:"target"`
	InitialSec float64 `json:"initial_sync_s"`
	PeakMiB    float64 `json:"peak_rss_mib"`
	SampledMiB float64 `json:"sampled_tree_peak_mib"`
	MedianMs   float64 `json:"push_to_swap_median_ms"`
	MaxMs      float64 `json:"push_to_swap_max_ms"`
	IdleCPUPct float64 `json:"idle_cpu_pct"`
	IdleRSSMiB float64 `json:"idle_rss_mib"`
	DiskMiB    float64 `json:"disk_mib"`
	Trees      float64 `json:"trees"`
}

// publicOptions are the options a reader needs to repeat the run.
type publicOptions struct {
	Targets    []string `json:"targets"`
	Rounds     int      `json:"rounds"`
	Files      int      `json:"files"`
	FileSize   int      `json:"file_size"`
	Commits    int      `json:"commits"`
	Pushes     int      `json:"pushes"`
	Period     string   `json:"period"`
	Idle       string   `json:"idle"`
	Gap        string   `json:"gap"`
	Settle     string   `json:"settle"`
	RootDir    string   `json:"root_dir_flag"`
	PodkitArgs []string `json:"podkit_args"`
	Seed       uint64   `json:"seed"`
}

func (o options) public() publicOptions {
	return publicOptions{Targets: o.targets, Rounds: o.rounds, Files: o.files, FileSize: o.fileSize, Commits: o.commits,
		Pushes: o.pushes, Period: o.period.String(), Idle: o.idle.String(), Gap: o.gap.String(), Settle: o.settle.String(),
		RootDir: o.rootDir, PodkitArgs: o.podkitArgs, Seed: o.seed}
}

const mib = 1024.0

func (r *report) summarise() {
	for _, t := range r.Options.Targets {
		var init, peak, sampled, cpu, idle, disk, trees, lat []float64
		for _, x := range r.Runs {
			if x.Target != t {
				continue
			}
			init = append(init, x.InitialSec)
			peak = append(peak, float64(x.PeakKiB)/mib)
			sampled = append(sampled, float64(x.SampledKiB)/mib)
			cpu = append(cpu, x.IdleCPUPct)
			idle = append(idle, float64(x.IdleRSSKiB)/mib)
			disk = append(disk, float64(x.DiskKiB)/mib)
			trees = append(trees, float64(x.Trees))
			lat = append(lat, x.LatenciesMs...)
		}
		m := benchkit.Median
		r.Summary = append(r.Summary, summary{Target: t, InitialSec: m(init), PeakMiB: m(peak), SampledMiB: m(sampled),
			MedianMs: m(lat), MaxMs: maxOf(lat), IdleCPUPct: m(cpu), IdleRSSMiB: m(idle), DiskMiB: m(disk), Trees: m(trees)})
	}
	if len(r.Summary) == 2 {
		p, g := r.Summary[0], r.Summary[1]
		if p.Target != tPodkit {
			p, g = g, p
		}
		d := func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return a / b
		}
		r.Ratios = &summary{Target: "podkit/git", InitialSec: d(p.InitialSec, g.InitialSec), PeakMiB: d(p.PeakMiB, g.PeakMiB),
			SampledMiB: d(p.SampledMiB, g.SampledMiB), MedianMs: d(p.MedianMs, g.MedianMs), MaxMs: d(p.MaxMs, g.MaxMs),
			IdleCPUPct: d(p.IdleCPUPct, g.IdleCPUPct), IdleRSSMiB: d(p.IdleRSSMiB, g.IdleRSSMiB), DiskMiB: d(p.DiskMiB, g.DiskMiB),
			Trees: d(p.Trees, g.Trees)}
	}
}

func targetName(t string) string {
	if t == tGit {
		return "git CLI baseline loop"
	}
	return "podkit gitsync"
}

// gitSyncRow is the measurement of kubernetes/git-sync v4.7.1 on
// the same repository shape: constants, not measured in this run.
const gitSyncRow = "| git-sync v4.7.1, measured by the issue author, not in this run | 2.2–2.4 | 72 (with git children) | – | 636–708 | 810 | 22–38 | 16 | 108 | – |\n"

func (r *report) writeTable(w io.Writer) error {
	o := r.Options
	fmt.Fprintf(w, "gitbench: %d files × %d B (served repo %.1f MiB), %d commits; %d pushes, period %s, idle %s; roots on %s (%s); %d round(s), medians; %d cores\n",
		o.Files, o.FileSize, float64(r.RepoKiB)/mib, o.Commits, o.Pushes, o.Period, o.Idle, r.FS, r.RootDir, o.Rounds, r.Cores)
	if r.Version != "" {
		fmt.Fprintf(w, "podkit: %s", r.Version)
		if len(o.PodkitArgs) > 0 {
			fmt.Fprintf(w, " (extra args: %s)", strings.Join(o.PodkitArgs, " "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "baseline: %s; gitbench's own CPU %.1f s over %.0f s\n\n", r.Git, r.BenchCPUSec, r.Seconds)
	fmt.Fprintln(w, "| target | initial sync s | peak RSS MiB | sampled tree peak MiB | push→swap median ms | push→swap max ms | idle CPU % of a core | idle RSS MiB | disk MiB after pushes | trees |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, s := range r.Summary {
		fmt.Fprintf(w, "| %s | %.2f | %.1f | %.1f | %.0f | %.0f | %.1f | %.1f | %.1f | %.0f |\n", targetName(s.Target),
			s.InitialSec, s.PeakMiB, s.SampledMiB, s.MedianMs, s.MaxMs, s.IdleCPUPct, s.IdleRSSMiB, s.DiskMiB, s.Trees)
	}
	if s := r.Ratios; s != nil {
		fmt.Fprintf(w, "| ratio podkit/git | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
			s.InitialSec, s.PeakMiB, s.SampledMiB, s.MedianMs, s.MaxMs, s.IdleCPUPct, s.IdleRSSMiB, s.DiskMiB, s.Trees)
	}
	fmt.Fprint(w, gitSyncRow)
	fmt.Fprintln(w, "\nPer run:")
	fmt.Fprintln(w, "| round | target | initial s | peak MiB | own VmHWM MiB | largest child MiB | push→swap median / max ms | idle CPU % | idle RSS MiB | live heap / RSS after a GC MiB | disk MiB | trees |")
	fmt.Fprintln(w, "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, x := range r.Runs {
		child, gc := "–", "–"
		if x.LiveHeapKiB > 0 {
			gc = fmt.Sprintf("%.1f / %.1f", float64(x.LiveHeapKiB)/mib, float64(x.RSSAfterGCKiB)/mib)
		}
		if x.Target == tGit {
			child = fmt.Sprintf("%.1f (%s)", float64(x.MaxChildKiB)/mib, x.MaxChild)
		}
		fmt.Fprintf(w, "| %d | %s | %.2f | %.1f | %.1f | %s | %.0f / %.0f | %.1f | %.1f | %s | %.1f | %d |\n", x.Round, x.Target,
			x.InitialSec, float64(x.PeakKiB)/mib, float64(x.OwnPeakKiB)/mib, child, x.MedianMs, x.MaxMs, x.IdleCPUPct,
			float64(x.IdleRSSKiB)/mib, gc, float64(x.DiskKiB)/mib, x.Trees)
	}
	fmt.Fprint(w, `
How: initial sync from the process's start until ROOT/LINK names .worktrees/HEAD (readlink every 5 ms);
push→swap from the moment the pushed ref moved until the link names the new commit (5 ms polling), pooled
over every push of every round. CPU: utime+stime+cutime+cstime of /proc/PID/stat over the idle window, so
the baseline's waited-for git children count (the git daemon's upload-packs count for neither). Peak RSS:
podkit's VmHWM; the baseline's own VmHWM plus its largest child's ru_maxrss (wait4 rusage: the max of that
child and its waited-for descendants, not their sum). Sampled tree peak: largest sum of VmRSS over the
process and its descendants, sampled every 50 ms outside the idle window. Idle RSS: VmRSS at the idle
window's end (the baseline: the loop process alone). Disk: du of the root (.git and trees, each inode
once) a -settle after the last swap; trees: entries of ROOT/.worktrees then (the baseline keeps two;
podkit keeps old trees --stale-worktree-timeout). Live heap after a GC: podkit's go_memstats_heap_alloc_bytes
after /debug/pprof/heap?gc=1, taken after every other figure.
`)
	return nil
}
