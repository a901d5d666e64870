package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// group runs components; the first to return (with or without an error)
// starts the stop of the rest, since a daemon missing a part is not healthy.
type group struct {
	ctx       context.Context
	wg        sync.WaitGroup
	firstDone chan struct{}
	allDone   chan struct{}
	once      sync.Once

	mu       sync.Mutex
	first    string
	firstErr error
	live     map[string]bool
}

func newGroup(ctx context.Context) *group {
	return &group{ctx: ctx, firstDone: make(chan struct{}), allDone: make(chan struct{}), live: map[string]bool{}}
}

// Go runs fn in its own goroutine, owned by the group.
func (g *group) Go(name string, fn func(context.Context) error) {
	g.wg.Add(1)
	g.mu.Lock()
	g.live[name] = true
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		err := fn(g.ctx)
		if errors.Is(err, context.Canceled) && g.ctx.Err() != nil {
			err = nil // stopping because we asked is not a failure
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		g.mu.Lock()
		delete(g.live, name)
		if g.first == "" {
			g.first = name
		}
		g.mu.Unlock()
		g.setErr(err)
		g.once.Do(func() { close(g.firstDone) })
	}()
}

// closeWhenDone closes allDone once every started fn has returned.
func (g *group) closeWhenDone() {
	go func() {
		g.wg.Wait()
		close(g.allDone)
	}()
}

func (g *group) setErr(err error) {
	if err == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.firstErr == nil {
		g.firstErr = err
	}
}

func (g *group) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.firstErr
}

func (g *group) firstName() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.first
}

func (g *group) running() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make([]string, 0, len(g.live))
	for n := range g.live {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
