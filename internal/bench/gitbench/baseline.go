package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// baselineEnv set in a process's environment makes gitbench the git-CLI
// baseline instead of the bench: gitbench starts it as a child of its own
// binary, so that its CPU (with its git children's, from cutime and cstime)
// and its memory are read from /proc as podkit's are.
const baselineEnv = "GITBENCH_BASELINE"

// baselineMain is the loop a git-sync user could write with the git CLI
// instead: every -period (a sleep after each check, as git-sync's loop
// does) `git ls-remote` the ref; when it moved, `git fetch --depth 1` it
// into a persistent bare repository (ROOT/.git) under a local ref, `git
// worktree add` the fetched commit at ROOT/.worktrees/HASH, point the link
// at it with `ln -s` to a temporary name and `mv -T` over the link, then
// `git worktree remove --force` the tree two back. Every step is a git (or
// coreutils) process it waits for, so the kernel charges their CPU to its
// cutime and cstime. On SIGTERM it writes -summary and exits 0.
func baselineMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gitbench (git baseline)", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", "", "git URL")
	ref := fs.String("ref", "refs/heads/main", "ref to follow")
	root := fs.String("root", "", "root directory")
	link := fs.String("link", "", "link name, in root")
	period := fs.Duration("period", 100*time.Millisecond, "pause after each check")
	summary := fs.String("summary", "", "file the summary is written to on exit")
	if err := fs.Parse(args); err != nil || *repo == "" || *root == "" || *link == "" || *summary == "" {
		fmt.Fprintln(stderr, "git baseline: want -repo URL -root DIR -link NAME -summary FILE")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	b := &baseline{repo: *repo, ref: *ref, root: *root, link: *link, gitDir: filepath.Join(*root, ".git"), log: stderr}
	err := b.run(ctx, *period)
	if werr := b.writeSummary(*summary); werr != nil && err == nil {
		err = werr
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "git baseline:", err)
		return 1
	}
	return 0
}

type baseline struct {
	repo, ref, root, link, gitDir string
	log                           io.Writer
	synced                        string   // the commit the link points at
	trees                         []string // published trees, oldest first
	s                             baselineSummary
}

// baselineSummary is what only the baseline knows about its children.
type baselineSummary struct {
	// MaxChildKiB is the largest ru_maxrss of a child (wait4's rusage: the
	// peak RSS of that child or of its largest waited-for descendant, such
	// as fetch's index-pack), and MaxChild its command.
	MaxChildKiB int64  `json:"max_child_kib"`
	MaxChild    string `json:"max_child"`
	Children    int    `json:"children"`
	Syncs       int    `json:"syncs"`
	Failures    int    `json:"failures"`
}

func (b *baseline) run(ctx context.Context, period time.Duration) error {
	if _, err := b.cmd(ctx, "git", "init", "-q", "--bare", b.gitDir); err != nil {
		return err
	}
	for {
		if err := b.check(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.s.Failures++
			fmt.Fprintln(b.log, "git baseline: sync:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(period):
		}
	}
}

// check is one period's work.
func (b *baseline) check(ctx context.Context) error {
	t0 := time.Now()
	out, err := b.cmd(ctx, "git", "ls-remote", b.repo, b.ref)
	if err != nil {
		return err
	}
	remote, _, _ := strings.Cut(out, "\t")
	if remote == "" {
		return fmt.Errorf("ls-remote: no %s", b.ref)
	}
	if remote == b.synced {
		return nil
	}
	const local = "refs/gitbench/synced"
	tFetch := time.Now()
	if _, err := b.cmd(ctx, "git", "-C", b.gitDir, "fetch", "-q", "--depth", "1", "--no-tags", b.repo, "+"+b.ref+":"+local); err != nil {
		return err
	}
	hash, err := b.cmd(ctx, "git", "-C", b.gitDir, "rev-parse", local)
	if err != nil {
		return err
	}
	tree := filepath.Join(b.root, ".worktrees", hash)
	tAdd := time.Now()
	if _, err := b.cmd(ctx, "git", "-C", b.gitDir, "worktree", "add", "-q", "--detach", tree, hash); err != nil {
		return err
	}
	tLink := time.Now()
	tmp := filepath.Join(b.root, "."+b.link+".tmp")
	if _, err := b.cmd(ctx, "ln", "-sfn", filepath.Join(".worktrees", hash), tmp); err != nil {
		return err
	}
	if _, err := b.cmd(ctx, "mv", "-T", tmp, filepath.Join(b.root, b.link)); err != nil {
		return err
	}
	b.synced = hash
	b.s.Syncs++
	swapped := time.Since(t0)
	b.trees = append(b.trees, tree)
	if len(b.trees) > 2 {
		if _, err := b.cmd(ctx, "git", "-C", b.gitDir, "worktree", "remove", "--force", b.trees[0]); err != nil {
			return err
		}
		b.trees = b.trees[1:]
	}
	// Its log says where a slow swap spent its time.
	fmt.Fprintf(b.log, "git baseline: synced %s: ls-remote %s, fetch %s, worktree add %s, swap at %s, cleanup done at %s\n",
		hash, ms(tFetch.Sub(t0)), ms(tAdd.Sub(tFetch)), ms(tLink.Sub(tAdd)), ms(swapped), ms(time.Since(t0)))
	return nil
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// cmd runs one child to completion and keeps the largest peak RSS seen.
func (b *baseline) cmd(ctx context.Context, name string, args ...string) (string, error) {
	c := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if c.ProcessState != nil {
		b.s.Children++
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > b.s.MaxChildKiB {
			b.s.MaxChildKiB = ru.Maxrss
			b.s.MaxChild = commandName(name, args)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (b *baseline) writeSummary(path string) error {
	j, err := json.Marshal(b.s)
	if err != nil {
		return err
	}
	return errors.Join(os.WriteFile(path+".tmp", j, 0o644), os.Rename(path+".tmp", path))
}

// commandName is "git fetch" for git -C DIR fetch ...: the report's label.
func commandName(name string, args []string) string {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-C":
			i++
		case !strings.HasPrefix(args[i], "-"):
			return name + " " + args[i]
		}
	}
	return name
}
