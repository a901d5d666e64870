package gitsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/podkit/podkit/internal/gittest"
)

// content is a commit's files: n data files and sums.txt with their hashes.
func content(gen, n int) map[string]string {
	files := map[string]string{}
	var sums strings.Builder
	for i := range n {
		name := fmt.Sprintf("data/%02d/f%03d.txt", i%10, i)
		body := strings.Repeat(fmt.Sprintf("gen %d file %d\n", gen, i), 50+gen%7)
		if i%3 != gen%3 { // two thirds unchanged since the generation before
			body = strings.Repeat(fmt.Sprintf("stable file %d\n", i), 40)
		}
		files[name] = body
		sum := sha256.Sum256([]byte(body))
		fmt.Fprintf(&sums, "%s %s\n", hex.EncodeToString(sum[:]), name)
	}
	files["sums.txt"] = sums.String()
	return files
}

// checkTree reads sums.txt under the link, as a reader that resolves the
// link once would, and every file it names.
func checkTree(root string) error {
	dir, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolve the link: %w", err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "sums.txt"))
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(sums)) {
		want, name, _ := strings.Cut(strings.TrimSpace(line), " ")
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			return fmt.Errorf("%s in %s: content does not match sums.txt", name, filepath.Base(dir))
		}
	}
	return nil
}

// Readers never see a missing or half-written file while swaps happen,
// with git-sync's own setting of --stale-worktree-timeout=0 too: the tree
// before the current one is kept until the next swap.
func TestReadersDuringSwaps(t *testing.T) {
	for _, stale := range []bool{true, false} {
		t.Run(fmt.Sprintf("stale-timeout=%v", stale), func(t *testing.T) {
			r := gittest.NewRepo(t)
			r.Commit(t, content(0, 60), "gen 0")
			cfg := testConfig(t, r.FileURL())
			if !stale {
				cfg.StaleWorktreeTimeout = 0
			}
			s, _ := start(t, cfg)
			waitHash(t, s, r.Head(t))
			link := filepath.Join(cfg.Root, cfg.Link)
			var stop atomic.Bool
			var reads atomic.Int64
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					for !stop.Load() {
						if err := checkTree(link); err != nil {
							errs <- err
							return
						}
						reads.Add(1)
					}
				})
			}
			for gen := 1; gen <= 12; gen++ {
				waitHash(t, s, r.Commit(t, content(gen, 60), fmt.Sprintf("gen %d", gen)))
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if reads.Load() < 12 {
				t.Fatalf("only %d full reads happened during the swaps", reads.Load())
			}
		})
	}
}
