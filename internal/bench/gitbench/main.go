// Command gitbench is the figures of the gitsync issue: podkit gitsync
// against a git-CLI baseline loop, alternating in one run, with
// kubernetes/git-sync v4.7.1's figures from the issue printed beside them
// as constants (they are not measured here).
//
// The test repository is made in a temporary directory by one git
// fast-import stream: -files files of -file-size pseudo-random
// (incompressible) bytes, 100 per directory, then -commits-1 commits
// changing one file each. git daemon serves it on loopback (git://). Each
// target, each round, in a fresh root under -root-dir:
//
//   - initial sync: from the process's start until ROOT/LINK points at
//     .worktrees/HEAD (readlink every 5 ms); the tree is then checked: the
//     file the head commit changed has its content, and every file is
//     there;
//   - idle CPU% of one core over -idle with no pushes, at -period, and the
//     RSS at its end;
//   - -pushes pushes (fast-imports into the served repository, each
//     changing one file; a -gap plus up to one -period apart): push→swap
//     latency from the moment the ref moved until readlink shows the new
//     commit (5 ms polling), and the changed file checked in the new tree;
//   - disk used by ROOT (du: .git and trees, each inode once) a second
//     after the last push's swap;
//   - peak RSS over the run.
//
// How each figure is taken for the baseline (baseline.go), a Go loop in a
// child process of gitbench that runs git, ln and mv as a shell loop
// would: CPU is utime+stime+cutime+cstime of its /proc/PID/stat, which
// holds every git child it has waited for (and their waited-for
// descendants such as index-pack); peak RSS is its own VmHWM plus the
// largest ru_maxrss of one child (wait4's rusage), and separately the
// largest sum of VmRSS over its process tree sampled every 50 ms; idle RSS
// is the loop's own VmRSS (its children come and go). podkit runs no
// children: the same CPU formula is its own, peak RSS its VmHWM. The git
// daemon's own CPU (its upload-packs answer both targets) is counted for
// neither.
//
// `make gitbench` runs it (part of `make bench`); -root-dir /dev/shm
// measures on tmpfs.
//
//	go run ./internal/bench/gitbench -bin bin/podkit -rounds 3
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

func main() {
	if os.Getenv(baselineEnv) == "1" {
		os.Exit(baselineMain(os.Args[1:], os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const (
	tPodkit = "podkit"
	tGit    = "git"
)

var allTargets = []string{tPodkit, tGit}

// options are gitbench's flags.
type options struct {
	bin        string
	targets    []string
	rounds     int
	files      int
	fileSize   int
	commits    int
	pushes     int
	period     time.Duration
	idle       time.Duration
	gap        time.Duration
	settle     time.Duration
	timeout    time.Duration
	rootDir    string
	podkitArgs []string
	seed       uint64
	keep       bool
	asJSON     bool
}

func parseOptions(args []string, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("gitbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", strings.Join(allTargets, ","), "targets, comma-separated, of podkit, git (the git-CLI baseline loop)")
	extra := fs.String("podkit-args", "", "extra podkit gitsync flags, space-separated (e.g. '--no-fsync')")
	fs.StringVar(&o.bin, "bin", "", "podkit binary (default: bin/podkit, else podkit on PATH)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds, targets alternating within each; figures are medians over them")
	fs.IntVar(&o.files, "files", 5000, "files in the test repository")
	fs.IntVar(&o.fileSize, "file-size", 10<<10, "bytes per file (pseudo-random: incompressible)")
	fs.IntVar(&o.commits, "commits", 500, "commits of history (the first adds every file, each other changes one)")
	fs.IntVar(&o.pushes, "pushes", 10, "pushes per run, each changing one file")
	fs.DurationVar(&o.period, "period", 100*time.Millisecond, "sync period of both targets")
	fs.DurationVar(&o.idle, "idle", 10*time.Second, "idle window (no pushes) for CPU% and idle RSS")
	fs.DurationVar(&o.gap, "gap", 300*time.Millisecond, "pause after a swap before the next push (plus up to one -period at random)")
	fs.DurationVar(&o.settle, "settle", time.Second, "pause after the initial sync before the idle window, and after the last push before du")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "longest wait for the initial sync or one push's swap")
	fs.StringVar(&o.rootDir, "root-dir", "", "where the roots go (default: the temp dir, on disk here; /dev/shm for tmpfs)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the file contents")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (repository, roots, logs) and print its path")
	fs.BoolVar(&o.asJSON, "json", false, "print every figure as JSON instead of the tables")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return o, code, false
	}
	usage := func(err error) (options, int, bool) { return o, benchkit.Usage(fs, err), false }
	var err error
	if o.targets, err = benchkit.Targets(*targets, allTargets); err != nil {
		return usage(err)
	}
	o.podkitArgs = strings.Fields(*extra)
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case o.rounds < 1 || o.files < 1 || o.fileSize < 1 || o.commits < 1 || o.pushes < 1:
		return usage(fmt.Errorf("-rounds, -files, -file-size, -commits and -pushes: must be >= 1"))
	case o.period <= 0 || o.idle <= 0 || o.timeout <= 0 || o.gap < 0 || o.settle < 0:
		return usage(fmt.Errorf("-period, -idle and -timeout: must be > 0; -gap and -settle >= 0"))
	}
	return o, 0, true
}

func run(args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseOptions(args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench(ctx, o, stderr)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(stderr, "gitbench:", err)
		return 1
	}
	if err := benchkit.Print(stdout, o.asJSON, r, r.writeTable); err != nil {
		fmt.Fprintln(stderr, "gitbench:", err)
		return 1
	}
	return 0
}

// bench makes the repository, serves it, runs every target every round
// and stops everything it started.
func bench(ctx context.Context, o options, log io.Writer) (*report, error) {
	t0 := time.Now()
	if slices.Contains(o.targets, tPodkit) {
		// bin/podkit (make build) before PATH: a podkit on PATH may be older.
		bin := o.bin
		if _, serr := os.Stat("bin/podkit"); bin == "" && serr == nil {
			bin = "bin/podkit"
		}
		bin, err := benchkit.FindBin("podkit", bin)
		if err != nil {
			return nil, fmt.Errorf("-bin: %w", err)
		}
		if err := checkPodkit(bin); err != nil {
			return nil, err
		}
		o.bin = bin
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("git is required (make deps, or apt-get install git): %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitbench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(log, "gitbench: work directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	rootDir := o.rootDir
	if rootDir == "" {
		rootDir = dir
	} else {
		if rootDir, err = os.MkdirTemp(o.rootDir, "gitbench-roots-"); err != nil {
			return nil, fmt.Errorf("-root-dir: %w", err)
		}
		if !o.keep {
			defer os.RemoveAll(rootDir)
		}
	}
	fmt.Fprintf(log, "gitbench: making the repository: %d files of %d bytes, %d commits\n", o.files, o.fileSize, o.commits)
	mk := time.Now()
	up, err := newUpstream(dir, o.files, o.fileSize, o.commits, o.seed)
	if err != nil {
		return nil, fmt.Errorf("test repository: %w", err)
	}
	if err := up.serve(); err != nil {
		return nil, fmt.Errorf("git daemon: %w", err)
	}
	defer up.stop()
	packKiB, _ := diskKiB(up.bare)
	fmt.Fprintf(log, "gitbench: repository made in %.1f s (%.1f MiB), served at %s\n", time.Since(mk).Seconds(), float64(packKiB)/1024, up.url)
	b := &runner{opts: o, up: up, self: self, dir: dir, rootDir: rootDir, log: log}
	rep := &report{Version: podkitVersion(o.bin), Git: gitVersion(), Cores: runtime.NumCPU(), FS: fsType(rootDir),
		RootDir: rootDir, RepoKiB: packKiB, Options: o.public()}
	for round := range o.rounds {
		order := slices.Clone(o.targets)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, target := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "gitbench: round %d/%d: %s\n", round+1, o.rounds, target)
			r, err := b.runTarget(ctx, target, round)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, target, err)
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.summarise()
	rep.Seconds = time.Since(t0).Seconds()
	// The polling and sampling share the two cores with the targets: how
	// much they took is printed with the figures.
	u, sys := benchkit.SelfCPU()
	rep.BenchCPUSec = (u + sys).Seconds()
	return rep, nil
}

// checkPodkit fails unless bin has the gitsync subcommand.
func checkPodkit(bin string) error {
	out, err := exec.Command(bin, "gitsync", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--link") {
		return fmt.Errorf("%s has no gitsync subcommand (podkit gitsync --help: %v)\n%s", bin, err, firstLines(string(out), 5))
	}
	return nil
}

func podkitVersion(bin string) string {
	if bin == "" {
		return ""
	}
	out, _ := exec.Command(bin, "version").CombinedOutput()
	return firstLines(strings.TrimSpace(string(out)), 1)
}

func gitVersion() string {
	out, _ := exec.Command("git", "--version").Output()
	return strings.TrimSpace(string(out))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
