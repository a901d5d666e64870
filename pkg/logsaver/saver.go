package logsaver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"

	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/s3"
	"github.com/podkit/podkit/pkg/logsaver/sink"
	"github.com/podkit/podkit/pkg/logsaver/syslog"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// Saver ships the files to the sinks. It is a daemon component (Name,
// Run, Ready).
type Saver struct {
	cfg        Config
	tailer     *tail.Tailer
	store      *checkpoint.Store
	pipelines  []*pipeline
	running    atomic.Bool
	saves      saveStats
	readCounts readCounts
}

// New checks cfg and builds the sinks; it reads no file and starts nothing
// (an s3 sink reads its credentials file).
func New(cfg Config) (*Saver, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	t, err := tail.New(cfg.Tail)
	if err != nil {
		return nil, err
	}
	store, err := checkpoint.New(checkpoint.Config{Dir: cfg.StateDir})
	if err != nil {
		return nil, err
	}
	s := &Saver{cfg: cfg, tailer: t, store: store}
	opts := cfg.SinkOptions
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	opts.Schemes = map[string]sink.Factory{"s3": s.s3Sink, "syslog+tcp": s.syslogSink}
	seen := map[string]bool{}
	for _, raw := range cfg.Sinks {
		sk, err := sink.Parse(raw, opts)
		if err != nil {
			s.closeSinks()
			return nil, err
		}
		if seen[sk.Name()] {
			sk.Close()
			s.closeSinks()
			return nil, fmt.Errorf("logsaver: sink %s given twice: each sink needs a checkpoint of its own", sk.Name())
		}
		seen[sk.Name()] = true
		s.pipelines = append(s.pipelines, newPipeline(s, sk))
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(collector{s}); err != nil {
			s.closeSinks()
			return nil, err
		}
	}
	return s, nil
}

// The s3 and syslog sinks parse their own URLs, with their own checks of
// the options, so their factories mark every option as read and hand the
// URL over.
func (s *Saver) s3Sink(u *url.URL, p *sink.Params, opts sink.Options) (record.Sink, error) {
	readAll(u, p)
	return s3.New(s3.Config{URL: u.String(), Logger: opts.Logger})
}

func (s *Saver) syslogSink(u *url.URL, p *sink.Params, opts sink.Options) (record.Sink, error) {
	readAll(u, p)
	return syslog.New(syslog.Config{URL: u.String(), Labels: s.cfg.Labels, Logger: opts.Logger})
}

func readAll(u *url.URL, p *sink.Params) {
	for k := range u.Query() {
		p.String(k, "")
	}
}

func (s *Saver) closeSinks() {
	for _, p := range s.pipelines {
		p.sink.Close()
	}
}

// Name implements the daemon component interface.
func (s *Saver) Name() string { return "logsaver" }

// Ready is nil once the files are being watched: the first scan of the
// globs is done.
func (s *Saver) Ready() error {
	if !s.running.Load() {
		return errors.New("logsaver: not running yet")
	}
	if s.tailer.Stats().Scans == 0 {
		return errors.New("logsaver: the first scan of the paths is not done yet")
	}
	return nil
}

// Run loads the checkpoints and ships until ctx ends; then it reads what
// the files still hold and delivers it (for up to DrainTimeout), saves the
// checkpoints and closes the sinks.
func (s *Saver) Run(ctx context.Context) error {
	defer s.closeSinks()
	if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("logsaver: state directory: %w", err)
	}
	state, err := s.store.Load()
	if errors.Is(err, checkpoint.ErrCorrupt) {
		// Starting over repeats lines; refusing to start would lose the
		// ones written while an operator looks.
		s.cfg.Logger.Error("checkpoint file corrupt: kept aside, starting from the files' beginning (lines will repeat)", "err", err)
		state = nil
	} else if err != nil {
		return err
	}
	for _, p := range s.pipelines {
		if p.cursor, err = s.tailer.Cursor(p.name, state[p.name]); err != nil {
			return err
		}
	}
	// The tailer outlives ctx by the drain: the pipelines stop it.
	tctx, stopTail := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTail()
	var tailErr error
	tailDone := make(chan struct{})
	go func() { tailErr = s.tailer.Run(tctx); close(tailDone) }()

	ck := newCheckpointer(s)
	cctx, stopCk := context.WithCancel(tctx)
	defer stopCk()
	var wg sync.WaitGroup
	wg.Go(func() { ck.run(cctx) })
	var pwg sync.WaitGroup
	for _, p := range s.pipelines {
		pwg.Go(func() { p.run(ctx, ck) })
	}
	s.running.Store(true)
	s.cfg.Logger.Info("logsaver running", "paths", s.cfg.Tail.Paths, "sinks", len(s.pipelines), "state_dir", s.cfg.StateDir)
	pwg.Wait()
	s.running.Store(false)
	// The last save reads the cursors, so it comes before the tailer
	// closes the files.
	stopCk()
	wg.Wait()
	stopTail()
	<-tailDone
	return tailErr
}
