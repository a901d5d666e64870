package publish

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// remover deletes old trees in one background goroutine, so that removing
// a 5,000-file tree is not part of Publish's push-to-swap time. A tree is
// first renamed to .worktrees/.trash-* under Publisher.mu, so by the time
// it is queued its name is free and no reader can newly reach it.
type remover struct {
	mu      sync.Mutex
	queue   []string
	pending map[string]bool // queued or being deleted
	running bool
	err     error
	wg      sync.WaitGroup // Add and Wait happen under Publisher.mu
}

// add queues names (in .worktrees) for deletion.
func (r *remover) add(wt *os.Root, names ...string) {
	if len(names) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	for _, n := range names {
		if !r.pending[n] {
			r.pending[n] = true
			r.queue = append(r.queue, n)
		}
	}
	if !r.running {
		r.running = true
		r.wg.Go(func() { r.run(wt) })
	}
}

func (r *remover) run(wt *os.Root) {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		n := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		err := wt.RemoveAll(n)
		r.mu.Lock()
		delete(r.pending, n)
		if err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("remove %s: %w", n, err))
		}
		r.mu.Unlock()
	}
}

// isPending reports whether name is queued or being deleted.
func (r *remover) isPending(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[name]
}

// takeErr returns the deletion errors since the last call.
func (r *remover) takeErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	r.err = nil
	return err
}

// wait waits until every queued tree is deleted and returns takeErr().
func (r *remover) wait() error {
	r.wg.Wait()
	return r.takeErr()
}
