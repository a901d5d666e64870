package main

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/pkg/gitsync"
	"github.com/podkit/podkit/pkg/gitsync/hook"
)

func newGitsyncCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	f := &gsFlags{}
	cmd := &cobra.Command{
		Use:   "gitsync",
		Short: "Sidecar: keeps a directory in sync with a git repository (a drop-in for git-sync v4)",
		Long: `gitsync keeps --root/--link pointing at a complete checkout of --ref of --repo,
for the app to serve from a shared volume. Flags and GITSYNC_* variables are
kubernetes/git-sync v4's: swap the image, keep the args.

Each --period it asks the remote for its refs (no objects); when the ref moved it
fetches (shallow at first, then only what changed), builds the new tree beside
the old one (unchanged files are hard links), and renames the link over: readers
see the old tree or the new one, never a half-written one. An old tree stays for
--stale-worktree-timeout after the swap. No git executable is needed.`,
		Example: `  podkit gitsync --repo https://github.com/org/site --ref main --root /git --link html --period 30s
  podkit gitsync --repo https://github.com/org/site --root /git --one-time   # an init container
  GITSYNC_REPO=... GITSYNC_ROOT=/git GITSYNC_PASSWORD_FILE=/secret/token podkit gitsync`,
		Annotations: map[string]string{cli.EnvAlias: "GITSYNC_"},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd.Flags(), a.log.With("component", "gitsync"))
			if err != nil {
				return err
			}
			if f.oneTime {
				s, err := gitsync.New(cfg)
				if err != nil {
					return gsUsage(err)
				}
				return s.Run(cmd.Context())
			}
			if f.httpBind != "" {
				dcfg.AdminAddr = f.httpBind
			}
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			cfg.Registry = d.Admin().Registry()
			s, err := gitsync.New(cfg)
			if err != nil {
				return gsUsage(err)
			}
			return d.Run(cmd.Context(), s)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminGitsync)
	f.add(cmd.Flags())
	return cmd
}

// gsUsage turns a config error (gitsync's or a hook's) into a usage error
// naming the flag.
func gsUsage(err error) error {
	var oe *gitsync.OptionError
	if errors.As(err, &oe) {
		return cli.Usagef(oe.Flag, "%v", oe.Err)
	}
	return err
}

type gsFlags struct {
	repo, ref, root, link, submodules, sparse, gc, touch string
	user, pass, passFile, sshKey, sshKnownFile, httpBind string
	webhookURL, webhookMethod, exechook                  string
	gitConfig                                            []string
	period, syncTimeout, stale                           time.Duration
	whTimeout, whBackoff, exTimeout, exBackoff           time.Duration
	maxFailures, depth, whStatus, verbose                int
	oneTime, sshKnown, httpMetrics, httpPprof, noFsync   bool
}

func (f *gsFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.repo, "repo", "", "the repository: https://, http://, ssh://, git://, file:// or user@host:path (required)")
	fs.StringVar(&f.ref, "ref", "HEAD", "what to sync: a branch, a tag, a full ref name or a 40-hex commit")
	fs.StringVar(&f.root, "root", "", "`DIR` holding the repository, the trees and (by default) the link (required)")
	fs.StringVar(&f.link, "link", "", "the symlink readers use, relative to --root unless absolute (default: the last element of --repo, as git-sync)")
	fs.DurationVar(&f.period, "period", gitsync.DefaultPeriod, "how often to check the remote ref")
	fs.DurationVar(&f.syncTimeout, "sync-timeout", gitsync.DefaultSyncTimeout, "longest a sync may take")
	fs.BoolVar(&f.oneTime, "one-time", false, "sync once, run the hooks once, exit (for an init container)")
	fs.IntVar(&f.maxFailures, "max-failures", 0, "consecutive failed syncs before exiting 1; -1: retry forever")
	fs.IntVar(&f.depth, "depth", gitsync.DefaultDepth, "commits of history to fetch; 0: all")
	fs.StringVar(&f.submodules, "submodules", gitsync.SubmodulesRecursive, "recursive, shallow (the top level only) or off")
	fs.StringVar(&f.sparse, "sparse-checkout-file", "", "`FILE` of sparse-checkout patterns (git's non-cone syntax)")
	fs.StringVar(&f.user, "username", "", "user for HTTP basic auth")
	fs.StringVar(&f.pass, "password", "", "password for HTTP basic auth (prefer --password-file); never logged")
	fs.StringVar(&f.passFile, "password-file", "", "`FILE` holding the password")
	fs.StringVar(&f.sshKey, "ssh-key-file", "/etc/git-secret/ssh", "private key for ssh:// and user@host:path repositories")
	fs.BoolVar(&f.sshKnown, "ssh-known-hosts", true, "check the server's host key")
	fs.StringVar(&f.sshKnownFile, "ssh-known-hosts-file", "/etc/git-secret/known_hosts", "known_hosts `FILE`")
	fs.StringArrayVar(&f.gitConfig, "git-config", nil, "git config `KEY:VALUE[,...]` pairs: http.sslCAInfo and http.sslVerify are used; others are ignored with a warning")
	fs.StringVar(&f.webhookURL, "webhook-url", "", "URL called after each new commit (header Gitsync-Hash)")
	fs.StringVar(&f.webhookMethod, "webhook-method", hook.DefaultWebhookMethod, "the webhook's HTTP method")
	fs.IntVar(&f.whStatus, "webhook-success-status", hook.DefaultWebhookStatus, "the status that means success; -1 (or 0): do not check")
	fs.DurationVar(&f.whTimeout, "webhook-timeout", hook.DefaultWebhookTimeout, "longest a webhook call may take")
	fs.DurationVar(&f.whBackoff, "webhook-backoff", hook.DefaultBackoff, "pause before retrying a failed webhook")
	fs.StringVar(&f.exechook, "exechook-command", "", "executable run in the new tree after each new commit (env GITSYNC_HASH)")
	fs.DurationVar(&f.exTimeout, "exechook-timeout", hook.DefaultExecTimeout, "longest the exechook may run")
	fs.DurationVar(&f.exBackoff, "exechook-backoff", hook.DefaultBackoff, "pause before retrying a failed exechook")
	fs.StringVar(&f.touch, "touch-file", "", "`FILE` whose mtime is set after each new commit, relative to --root unless absolute")
	fs.DurationVar(&f.stale, "stale-worktree-timeout", gitsync.DefaultStaleWorktreeTimeout, "how long an old tree stays after the swap, for readers still in it")
	fs.StringVar(&f.gc, "git-gc", gitsync.GCAuto, "repository housekeeping: auto, always, aggressive or off")
	fs.StringVar(&f.httpBind, "http-bind", "", "git-sync's name for --admin-addr")
	fs.BoolVar(&f.httpMetrics, "http-metrics", true, "accepted for git-sync compatibility: the admin server always serves /metrics")
	fs.BoolVar(&f.httpPprof, "http-pprof", false, "accepted for git-sync compatibility: the admin server always serves /debug/pprof/")
	fs.CountVarP(&f.verbose, "verbose", "v", "accepted for git-sync compatibility; use --log-level")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "do not fsync new trees (tmpfs); after a power loss a tree may be torn")
}

// config turns the flags into a gitsync.Config; errors are usage errors.
func (f *gsFlags) config(fs *pflag.FlagSet, log *slog.Logger) (gitsync.Config, error) {
	cfg := gitsync.Config{Repo: f.repo, Ref: f.ref, Root: f.root, Link: f.link, Period: f.period, SyncTimeout: f.syncTimeout,
		OneTime: f.oneTime, MaxFailures: f.maxFailures, Depth: f.depth, Submodules: f.submodules, SparseCheckoutFile: f.sparse,
		StaleWorktreeTimeout: f.stale, GC: f.gc, TouchFile: f.touch, Username: f.user, Password: f.pass,
		SSHKnownHosts: f.sshKnown, SSHKnownHostsFile: f.sshKnownFile, NoFsync: f.noFsync, Logger: log}
	if f.passFile != "" {
		if f.pass != "" {
			return cfg, cli.Usagef("password-file", "give --password or --password-file, not both")
		}
		b, err := os.ReadFile(f.passFile)
		if err != nil {
			return cfg, cli.Usagef("password-file", "%v", err)
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	// git-sync's default key path exists only where a secret is mounted.
	if _, err := os.Stat(f.sshKey); err == nil || fs.Changed("ssh-key-file") {
		cfg.SSHKeyFile = f.sshKey
	}
	for _, kvs := range f.gitConfig {
		for _, kv := range strings.Split(kvs, ",") {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				return cfg, cli.Usagef("git-config", "want KEY:VALUE (got %q)", kv)
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "http.sslcainfo":
				cfg.CAFile = v
			case "http.sslverify":
				cfg.InsecureSkipTLS = v == "false" || v == "0" || v == "no"
			default:
				cfg.Logger.Warn("git-config key ignored: the pure-Go git client does not use it", "key", k)
			}
		}
	}
	if f.webhookURL != "" {
		w := &hook.Webhook{URL: f.webhookURL, Method: f.webhookMethod, SuccessStatus: f.whStatus, Timeout: f.whTimeout, Logger: cfg.Logger}
		if err := w.Validate(); err != nil {
			return cfg, gsUsage(err)
		}
		cfg.Hooks = append(cfg.Hooks, gitsync.Hook{Runner: w, Backoff: f.whBackoff})
	}
	if f.exechook != "" {
		e := &hook.Exec{Command: f.exechook, Timeout: f.exTimeout, Logger: cfg.Logger}
		if err := e.Validate(); err != nil {
			return cfg, gsUsage(err)
		}
		cfg.Hooks = append(cfg.Hooks, gitsync.Hook{Runner: e, Backoff: f.exBackoff})
	}
	return cfg, nil
}
