package logsaver

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
)

// checkpointer saves every sink's acknowledged positions after each
// acknowledgement, one save at a time. Acknowledgements do not wait for a
// save: those that arrive during one are written by the next, so a kill
// -9 repeats at most the batches acknowledged during one save.
type checkpointer struct {
	s    *Saver
	kick chan struct{}
}

// saveStats count checkpoint writes for the metrics.
type saveStats struct {
	ok, failed atomic.Uint64
	last       atomic.Int64 // UnixNano of the last successful save
}

func newCheckpointer(s *Saver) *checkpointer {
	return &checkpointer{s: s, kick: make(chan struct{}, 1)}
}

func (c *checkpointer) dirty() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// retryAfter spaces the attempts after a failed save: without a retry the
// acknowledged positions would wait for the next ack, which on a quiet
// log may never come.
const retryAfter = time.Second

// run saves on each kick until ctx ends, then once more.
func (c *checkpointer) run(ctx context.Context) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			c.save()
			return
		case <-c.kick:
		case <-retry:
		}
		retry = nil
		if !c.save() {
			retry = time.After(retryAfter)
		}
	}
}

func (c *checkpointer) save() bool {
	state := make(map[string][]checkpoint.Entry, len(c.s.pipelines))
	for _, p := range c.s.pipelines {
		if p.cursor != nil {
			state[p.name] = p.cursor.Checkpoint()
		}
	}
	if err := c.s.store.Save(state); err != nil {
		c.s.saves.failed.Add(1)
		c.s.cfg.Logger.Error("checkpoint not saved: a restart would repeat more lines; retrying", "err", err, "retry_in", retryAfter)
		return false
	}
	c.s.saves.ok.Add(1)
	c.s.saves.last.Store(time.Now().UnixNano())
	return true
}
