package gitsync

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/gitsync/hook"
)

// Defaults, git-sync v4's where it has one.
const (
	DefaultPeriod      = 10 * time.Second
	DefaultSyncTimeout = 120 * time.Second
	DefaultDepth       = 1
	// DefaultStaleWorktreeTimeout differs from git-sync's 0, which deletes
	// the old tree at the swap while readers may still hold it
	// (kubernetes/git-sync#692).
	DefaultStaleWorktreeTimeout = time.Minute
)

// Submodules modes (--submodules).
const (
	SubmodulesRecursive = "recursive"
	SubmodulesShallow   = "shallow" // the top level only
	SubmodulesOff       = "off"
)

// GC modes (--git-gc): how the local repository is kept small.
const (
	GCAuto       = "auto"       // compact when fetches have piled up
	GCAlways     = "always"     // compact after every new commit
	GCAggressive = "aggressive" // as always: a fresh shallow copy is already minimal
	GCOff        = "off"
)

// Config configures a Syncer. Field names follow git-sync v4's flags.
type Config struct {
	Repo string // required: https://, http://, ssh://, git://, file:// or scp-style user@host:path
	// Ref is a branch, a tag, a full ref name or a 40-hex commit; "" means
	// the remote's HEAD.
	Ref  string
	Root string // required: holds .git, .worktrees and (by default) Link
	// Link is the symlink readers use, relative to Root unless absolute;
	// "" means the last slash-separated element of Repo, as git-sync.
	Link                 string
	Period               time.Duration // 0: DefaultPeriod
	SyncTimeout          time.Duration // 0: DefaultSyncTimeout
	OneTime              bool
	MaxFailures          int // consecutive failures before Run fails; < 0: never
	Depth                int // 0: full history; default is the caller's (DefaultDepth)
	Submodules           string
	SparseCheckoutFile   string
	StaleWorktreeTimeout time.Duration
	GC                   string // "": GCAuto
	TouchFile            string // relative to Root unless absolute

	Username, Password string
	SSHKeyFile         string
	SSHKnownHosts      bool
	SSHKnownHostsFile  string
	CAFile             string // http.sslCAInfo
	InsecureSkipTLS    bool   // http.sslVerify=false

	Hooks []Hook

	// NoFsync skips the fsyncs of published trees (tmpfs, tests).
	NoFsync  bool
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics not registered
}

// Hook is a post-sync action (hook.Webhook, hook.Exec) with the pause
// between its retries.
type Hook struct {
	Runner  hook.Runner
	Backoff time.Duration
}

// OptionError is a Config error; Flag names the git-sync flag. It is the
// hook package's type, so one check covers both.
type OptionError = hook.OptionError

func optErr(flag, format string, args ...any) error {
	return &OptionError{Flag: flag, Err: fmt.Errorf(format, args...)}
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (c *Config) setDefaults() error {
	if c.Repo == "" {
		return optErr("repo", "required")
	}
	if c.Root == "" {
		return optErr("root", "required")
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return optErr("root", "%v", err)
	}
	c.Root = root
	if c.Link == "" {
		c.Link = defaultLink(c.Repo)
	}
	// As git-sync: the trees and the repository are the hidden names.
	if strings.HasPrefix(filepath.Base(c.Link), ".") {
		return optErr("link", "must not start with '.' (got %q)", c.Link)
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if c.Period < 10*time.Millisecond {
		return optErr("period", "must be at least 10ms (got %s)", c.Period)
	}
	if c.SyncTimeout == 0 {
		c.SyncTimeout = DefaultSyncTimeout
	}
	if c.SyncTimeout < 0 {
		return optErr("sync-timeout", "must be > 0 (got %s)", c.SyncTimeout)
	}
	if c.Depth < 0 {
		return optErr("depth", "must be >= 0 (got %d)", c.Depth)
	}
	if c.StaleWorktreeTimeout < 0 {
		return optErr("stale-worktree-timeout", "must be >= 0 (got %s)", c.StaleWorktreeTimeout)
	}
	switch c.Submodules {
	case "":
		c.Submodules = SubmodulesRecursive
	case SubmodulesRecursive, SubmodulesShallow, SubmodulesOff:
	default:
		return optErr("submodules", "want recursive, shallow or off (got %q)", c.Submodules)
	}
	switch c.GC {
	case "":
		c.GC = GCAuto
	case GCAuto, GCAlways, GCAggressive, GCOff:
	default:
		return optErr("git-gc", "want auto, always, aggressive or off (got %q)", c.GC)
	}
	r := strings.TrimSpace(c.Ref)
	if strings.ContainsAny(r, " \t\n~^:?*[\\") || strings.Contains(r, "..") {
		return optErr("ref", "%q is not a valid ref", c.Ref)
	}
	c.Ref = r
	for i, h := range c.Hooks {
		if h.Runner == nil {
			return optErr("hook", "hook %d has no runner", i)
		}
		if h.Backoff <= 0 {
			return optErr(h.Runner.Name()+"-backoff", "must be > 0 (got %s)", h.Backoff)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// defaultLink is git-sync's default --link: the last slash-separated
// element of --repo, as given (".git" included).
func defaultLink(repo string) string {
	parts := strings.Split(strings.Trim(repo, "/"), "/")
	return parts[len(parts)-1]
}

var errNoRef = errors.New("ref not found on the remote")
