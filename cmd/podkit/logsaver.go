package main

import (
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/pkg/logsaver"
	"github.com/podkit/podkit/pkg/logsaver/format"
	lsrecord "github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/sink"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

func newLogsaverCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	f := &lsFlags{}
	cmd := &cobra.Command{
		Use:   "logsaver",
		Short: "Sidecar: ships the app's log files to storage without losing a line",
		Long: `logsaver follows the log files the app writes to a shared volume (--path
globs) and ships every line to each --sink: file:///DIR (NDJSON files),
http(s)://... (NDJSON POSTs), s3://BUCKET/PREFIX?endpoint=...&region=...,
syslog+tcp://HOST:PORT (RFC 5424) or stdout. Each record carries the line,
its file and byte offset, the ingest time and the labels (--label, and the
pod's identity from POD_NAME, POD_NAMESPACE, POD_UID, NODE_NAME).

Nothing is lost: each sink has its own cursor, and its checkpoint in
--state-dir moves only after the sink acknowledged the lines, so a kill -9
repeats at most the batches in flight. Rotation by rename, copytruncate
(glob the copies too: app.log*) and delete are followed; a rotated file is
read to its end. A sink that is down makes its reading pause at
--max-buffer-bytes: the files are the buffer. On SIGTERM what the files
still hold is shipped (up to --drain-timeout) before the exit.`,
		Example: `  podkit logsaver --path '/var/log/app/*.log' --state-dir /var/lib/logsaver --sink https://logs.example/ingest
  podkit logsaver --path '/logs/app.log*' --format json --label env=prod --state-dir /state \
    --sink 's3://logs/app/?region=eu-west-1' --sink stdout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			cfg.Logger = a.log.With("component", "logsaver")
			cfg.Registry = d.Admin().Registry()
			s, err := logsaver.New(cfg)
			if err != nil {
				if errors.Is(err, sink.ErrUsage) {
					return cli.Usagef("sink", "%v", err)
				}
				return &cli.UsageError{Err: err}
			}
			return d.Run(cmd.Context(), s)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminLogsaver)
	f.add(cmd.Flags())
	return cmd
}

type lsFlags struct {
	paths, exclude, sinks, labels                  []string
	stateDir, fmt, multiline, maxBuf, maxLine, bat string
	mlTimeout, batchWait, poll, drain, rotateWait  time.Duration
	truncate, noInotify, startAtEnd, noPod         bool
}

func (f *lsFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.paths, "path", nil, "files to follow: a glob (repeat); include rotated copies (app.log*) for copytruncate")
	fs.StringArrayVar(&f.exclude, "exclude", nil, "skip matches: a glob on the base name, or on the whole path with a '/' (repeat)")
	fs.StringVar(&f.stateDir, "state-dir", "", "`DIR` for the checkpoints (keep it across restarts: an emptyDir survives a container restart)")
	fs.StringArrayVar(&f.sinks, "sink", nil, "destination URL: file:///DIR, http(s)://..., s3://BUCKET/PREFIX?endpoint=&region=, syslog+tcp://HOST:PORT, stdout (repeat)")
	fs.StringVar(&f.fmt, "format", "raw", "line format: raw, json (merge the line's JSON fields), cri or docker (unwrap container runtime logs, join partial lines)")
	fs.StringVar(&f.multiline, "multiline-start", "", "`REGEX` matching the first line of an entry; the lines after it are joined to it (stack traces)")
	fs.DurationVar(&f.mlTimeout, "multiline-timeout", format.DefaultTimeout, "a pending multiline entry is shipped after this long without a new line")
	fs.StringArrayVar(&f.labels, "label", nil, "`KEY=VALUE` added to every record (repeat)")
	fs.BoolVar(&f.noPod, "no-pod-labels", false, "do not add pod, namespace, pod_uid, node from the POD_NAME, POD_NAMESPACE, POD_UID, NODE_NAME variables")
	fs.StringVar(&f.maxBuf, "max-buffer-bytes", "4MiB", "per sink, NDJSON waiting for its acknowledgement; reading pauses at it")
	fs.StringVar(&f.maxLine, "max-line-bytes", "256KiB", "longest line; longer ones are split (or cut with --truncate-long-lines), and counted")
	fs.BoolVar(&f.truncate, "truncate-long-lines", false, "cut lines over --max-line-bytes instead of splitting them (the rest is dropped and counted)")
	fs.StringVar(&f.bat, "batch-bytes", "1MiB", "a batch is sent at this NDJSON size")
	fs.DurationVar(&f.batchWait, "batch-wait", logsaver.DefaultBatchWait, "or after this long with at least one record")
	fs.DurationVar(&f.poll, "poll-interval", tail.DefaultPollInterval, "re-scan the globs and stat the files this often (inotify also wakes it)")
	fs.BoolVar(&f.noInotify, "no-inotify", false, "poll only (filesystems where inotify sees nothing)")
	fs.DurationVar(&f.rotateWait, "rotate-wait", tail.DefaultRotateWait, "a rotated-away file is kept this long at EOF for late writes")
	fs.BoolVar(&f.startAtEnd, "start-at-end", false, "files found at start without a checkpoint start at their end, not their beginning")
	fs.DurationVar(&f.drain, "drain-timeout", 5*time.Second, "on SIGTERM, ship what the files still hold for up to this long (keep it under --shutdown-timeout)")
}

// config turns the flags into a Config; errors are usage errors.
func (f *lsFlags) config() (logsaver.Config, error) {
	cfg := logsaver.Config{
		Tail: tail.Config{Paths: f.paths, Exclude: f.exclude, PollInterval: f.poll, NoInotify: f.noInotify,
			TruncateLongLines: f.truncate, RotateWait: f.rotateWait, StartAtEnd: f.startAtEnd},
		StateDir: f.stateDir, Sinks: f.sinks, MultilineTimeout: f.mlTimeout, BatchWait: f.batchWait,
		DrainTimeout: f.drain, PodLabels: !f.noPod,
	}
	switch {
	case len(f.paths) == 0:
		return cfg, cli.Usagef("path", "at least one --path is needed")
	case f.stateDir == "":
		return cfg, cli.Usagef("state-dir", "required: the checkpoints live there")
	case len(f.sinks) == 0:
		return cfg, cli.Usagef("sink", "at least one --sink is needed")
	}
	var err error
	if cfg.Format, err = format.ParseFormat(f.fmt); err != nil {
		return cfg, cli.Usagef("format", "%v", err)
	}
	if f.multiline != "" {
		if cfg.MultilineStart, err = regexp.Compile(f.multiline); err != nil {
			return cfg, cli.Usagef("multiline-start", "%v", err)
		}
	}
	for _, s := range []struct {
		flag, v string
		dst     *int
	}{{"max-buffer-bytes", f.maxBuf, &cfg.MaxBufferBytes}, {"max-line-bytes", f.maxLine, &cfg.Tail.MaxLineBytes}, {"batch-bytes", f.bat, &cfg.BatchBytes}} {
		n, err := sink.ParseBytes(s.v)
		if err != nil || n <= 0 || n > 1<<34 {
			return cfg, cli.Usagef(s.flag, "want a size such as 16MiB (got %q)", s.v)
		}
		*s.dst = int(n)
	}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return cfg, cli.Usagef("label", "want KEY=VALUE (got %q)", l)
		}
		cfg.Labels = append(cfg.Labels, lsrecord.Label{Name: k, Value: v})
	}
	return cfg, nil
}
