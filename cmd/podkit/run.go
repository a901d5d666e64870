package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/pkg/health"
	"github.com/podkit/podkit/pkg/supervisor"
)

func newRunCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	var cf *checkFlags
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Init and supervisor for the main container: signals, zombies, graceful stop, hooks, restarts",
		Long: `run starts COMMAND and stays its parent, as PID 1 of a container or, copied in
by 'podkit install', as the app container's command:

  - forwards every catchable signal to COMMAND (to its process group with
    --signal-group), except SIGCHLD, SIGURG, SIGPROF, SIGPIPE, SIGTTIN, SIGTTOU
    and the synchronous fault signals; SIGINT also ends --restart
  - reaps every zombie: as PID 1, or as a child subreaper otherwise
  - SIGTERM or POST /lifecycle/stop: --pre-stop hook, --stop-signal, then after
    --grace-period SIGKILL to COMMAND's process group. Once. A later SIGTERM is
    forwarded after the stop signal was sent, dropped during the hook
  - exits with COMMAND's exit code, or 128+N when signal N killed it;
    127/126 when it cannot be found/executed
  - COMMAND's stdout and stderr pass through unchanged, via pipes that also
    feed /logs: they are not a TTY for COMMAND. --no-capture hands them over
    as they are. A terminal on stdin is handed to COMMAND (tcsetpgrp)

Admin API: /lifecycle, /config (env var names only), /logs?tail=N, /metrics
(podkit_run_child_*), /healthz and /readyz (--check as for 'podkit health'),
POST /lifecycle/stop and POST /lifecycle/signal?name=HUP.`,
		Example: `  podkit run -- nginx -g 'daemon off;'
  podkit run --stop-signal QUIT --grace-period 20s --pre-stop 'http://127.0.0.1:8080/flush' -- app
  podkit run --restart on-failure --max-restarts 5 --check 'app=tcp://127.0.0.1:8080' -- app`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(args)
			if err != nil {
				return err
			}
			// First, so the Go runtime's per-signal set-up overlaps ours.
			// Never stopped: the process exits after the child.
			cfg.Signals = supervisor.Subscribe()
			specs, err := cf.specs()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("shutdown-timeout") {
				dcfg.ShutdownTimeout = cfg.HookTimeout + cfg.GracePeriod + 5*time.Second
			}
			dcfg.Logger = a.log
			dcfg.Signals = make(chan os.Signal) // never fires: the supervisor handles SIGTERM
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			cfg.Logger = a.log.With("component", "supervisor")
			cfg.Registry = d.Admin().Registry()
			sup, err := supervisor.New(cfg)
			var ce *supervisor.ConfigError
			if errors.As(err, &ce) {
				return cli.Usagef(ce.Field, "%s", ce.Msg)
			} else if err != nil {
				return err
			}
			sup.Mount(d.Admin())
			comps := []daemon.Component{sup}
			if len(specs) > 0 {
				// exec checks run through the supervisor, whose reaper would
				// otherwise steal their exit status from os/exec.
				for i, s := range specs {
					if h, err := supervisor.ParseHook(s.Target); err == nil && len(h.Argv) > 0 {
						specs[i].Func = func(ctx context.Context) error { return sup.Exec(ctx, h.Argv) }
					}
				}
				c, err := health.New(health.Config{Checks: specs, Logger: a.log.With("component", "health"), Registry: d.Admin().Registry()})
				if err != nil {
					return usage("check", err)
				}
				c.Mount(d.Admin())
				comps = append(comps, c)
			}
			return d.Run(cmd.Context(), comps...)
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after COMMAND are COMMAND's
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminRun)
	cf = addCheckFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&f.stopSignal, "stop-signal", "TERM", "signal that asks COMMAND to stop (name, RTMIN+N or number), like Docker's STOPSIGNAL")
	fs.DurationVar(&f.grace, "grace-period", supervisor.DefaultGracePeriod, "from the stop signal to SIGKILL of COMMAND's process group (keep it under the pod's terminationGracePeriodSeconds minus --hook-timeout)")
	fs.BoolVar(&f.signalGroup, "signal-group", false, "forward signals to COMMAND's process group, not just COMMAND")
	fs.StringVar(&f.preStop, "pre-stop", "", "hook run on a stop request before the stop signal: exec:COMMAND ARGS (no shell) or an http(s):// URL to POST")
	fs.StringVar(&f.postStart, "post-start", "", "hook run after every start, while COMMAND runs (readiness waits for it): exec:COMMAND ARGS or an http(s):// URL to POST")
	fs.DurationVar(&f.hookTimeout, "hook-timeout", supervisor.DefaultHookTimeout, "a hook still running after this is killed and counted as failed")
	fs.StringVar(&f.restart, "restart", "never", "restart policy: never, on-failure (non-zero exit or signal) or always; a stop request ends restarts")
	fs.IntVar(&f.maxRestarts, "max-restarts", 0, "restarts allowed before giving up (0: unlimited)")
	fs.DurationVar(&f.backoff, "restart-backoff", supervisor.DefaultRestartBackoff, "first restart delay, doubled per restart; reset after COMMAND ran 10s")
	fs.DurationVar(&f.backoffMax, "restart-backoff-max", supervisor.DefaultRestartBackoffMax, "cap of the restart delay")
	fs.BoolVar(&f.noCapture, "no-capture", false, "leave COMMAND's stdout and stderr as podkit's own (a TTY stays a TTY); no /logs")
	fs.IntVar(&f.logBuffer, "log-buffer-bytes", supervisor.DefaultLogBufferBytes, "bound of the /logs ring buffer of COMMAND's recent output")
	fs.BoolVar(&f.subreaper, "subreaper", true, "when not PID 1, become a child subreaper so orphans of COMMAND are reaped here")
	return cmd
}

type runFlags struct {
	stopSignal, preStop, postStart, restart string
	grace, hookTimeout, backoff, backoffMax time.Duration
	maxRestarts, logBuffer                  int
	signalGroup, noCapture, subreaper       bool
}

// config turns the flags into a supervisor.Config; errors are usage errors.
func (f *runFlags) config(argv []string) (supervisor.Config, error) {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"grace-period", f.grace}, {"hook-timeout", f.hookTimeout}, {"restart-backoff", f.backoff}, {"restart-backoff-max", f.backoffMax}} {
		if d.v <= 0 { // 0 would read as "the default" below
			return supervisor.Config{}, cli.Usagef(d.flag, "must be > 0 (got %s)", d.v)
		}
	}
	if f.logBuffer <= 0 {
		return supervisor.Config{}, cli.Usagef("log-buffer-bytes", "must be > 0 (got %d)", f.logBuffer)
	}
	sig, err := supervisor.ParseSignal(f.stopSignal)
	if err != nil {
		return supervisor.Config{}, cli.Usagef("stop-signal", "%v", err)
	}
	cfg := supervisor.Config{
		Argv: argv, StopSignal: sig, GracePeriod: f.grace, SignalGroup: f.signalGroup, HookTimeout: f.hookTimeout,
		Restart: supervisor.RestartPolicy(f.restart), MaxRestarts: f.maxRestarts, RestartBackoff: f.backoff,
		RestartBackoffMax: f.backoffMax, NoCapture: f.noCapture, LogBufferBytes: f.logBuffer, NoSubreaper: !f.subreaper,
	}
	if cfg.PreStop, err = supervisor.ParseHook(f.preStop); err != nil {
		return cfg, cli.Usagef("pre-stop", "%v", err)
	}
	if cfg.PostStart, err = supervisor.ParseHook(f.postStart); err != nil {
		return cfg, cli.Usagef("post-start", "%v", err)
	}
	return cfg, nil
}
