package gitsync

import (
	"context"
	"fmt"

	"github.com/podkit/podkit/pkg/gitsync/hook"
)

// newHooks makes one queue per hook; they run beside the sync loop, so a
// slow or failing hook never delays the next sync.
func (s *Syncer) newHooks() error {
	if len(s.cfg.Hooks) == 0 {
		return nil
	}
	m, err := hook.NewMetrics(s.cfg.Registry)
	if err != nil {
		return fmt.Errorf("gitsync: hook metrics: %w", err)
	}
	for _, h := range s.cfg.Hooks {
		s.hooks = append(s.hooks, hook.NewQueue(h.Runner, h.Backoff, s.log, m))
	}
	return nil
}

// runHooksOnce is --one-time's hook step: each hook once, in the order
// given, and its failure is the command's.
func (s *Syncer) runHooksOnce(ctx context.Context, dir string) error {
	hash := s.Current()
	for _, h := range s.cfg.Hooks {
		if err := h.Runner.Run(ctx, hash, dir); err != nil {
			return fmt.Errorf("gitsync: %s for %s: %w", h.Runner.Name(), hash, err)
		}
	}
	return nil
}
