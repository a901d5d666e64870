// Package etcdtest runs a real single-member etcd server (Debian's
// etcd-server, /usr/bin/etcd) on loopback for tests. A missing binary fails
// the test: `make deps` (scripts/deps.sh) installs it.
//
// It talks to etcd over its JSON gateway with plain net/http, so the
// clients under test (pkg/elector/etcdgw) can use it from their own tests.
package etcdtest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
)

// RootUser is the user Options.RootPassword creates.
const RootUser = "root"

// Options change how Start runs etcd.
type Options struct {
	// RootPassword, when set, creates user root (role root) with it and
	// enables authentication.
	RootPassword string
	// AuthTokenTTL is etcd's --auth-token-ttl (0: etcd's 300s): how long a
	// simple token lives when unused.
	AuthTokenTTL time.Duration
	// CertFile and KeyFile, when set, make the client URL https:// with
	// this certificate (for 127.0.0.1).
	CertFile, KeyFile string
	// Args are extra etcd flags.
	Args []string
}

// Server is a running etcd.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	DataDir  string
	Name     string

	t          testing.TB
	bin        string
	clientAddr string
	peerAddr   string
	opts       Options
	proc       *proctest.Proc
}

var seq atomic.Int64

// Start runs etcd with a fresh data directory until the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd is required (make deps, or apt-get install etcd-server): %v", err)
	}
	s := &Server{
		DataDir: t.TempDir(),
		Name:    fmt.Sprintf("etcdtest%d", seq.Add(1)),
		t:       t,
		bin:     bin,
		opts:    opts,
	}
	s.proc = proctest.StartServer(t, bin, func() []string {
		s.clientAddr, s.peerAddr = proctest.FreeAddr(t), proctest.FreeAddr(t)
		s.Endpoint = "http://" + s.clientAddr
		if opts.CertFile != "" {
			s.Endpoint = "https://" + s.clientAddr
		}
		return s.args()
	}, s.healthy)
	if opts.RootPassword != "" {
		s.enableAuth()
	}
	return s
}

func (s *Server) args() []string {
	peer := "http://" + s.peerAddr
	args := []string{
		"--name", s.Name,
		"--data-dir", s.DataDir,
		"--listen-client-urls", s.Endpoint,
		"--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", s.Name + "=" + peer,
		"--initial-cluster-state", "new",
		// A single member elects itself after one election timeout:
		// shorten it (and the heartbeat with it) so tests start fast.
		"--heartbeat-interval", "10",
		"--election-timeout", "100",
	}
	if s.opts.CertFile != "" {
		args = append(args, "--cert-file", s.opts.CertFile, "--key-file", s.opts.KeyFile)
	}
	if s.opts.AuthTokenTTL > 0 {
		args = append(args, "--auth-token-ttl", fmt.Sprint(int(s.opts.AuthTokenTTL.Seconds())))
	}
	return append(args, s.opts.Args...)
}

// Pid is the process id of the running etcd (0 after Kill).
func (s *Server) Pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

// Kill ends etcd with SIGKILL and waits for it; its data stays.
func (s *Server) Kill() {
	if s.proc != nil {
		s.proc.Stop()
		s.proc = nil
	}
}

// Restart kills etcd if it runs and starts it again with the same data
// directory, name and ports, and waits until it serves.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var out string
	for range 5 { // the old process's ports may linger a moment
		p := proctest.Start(s.t, s.bin, s.args()...)
		if p.WaitUntil(s.healthy) {
			s.proc = p
			return
		}
		p.Stop()
		out = p.Stderr.String()
	}
	s.t.Fatalf("etcd did not restart on %s: %s", s.Endpoint, out)
}

// client has no keep-alive, so no idle connection (or its goroutines)
// outlives a call: packages under test check for goroutine leaks. It
// trusts any certificate: it only talks to the etcd it started.
var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	DisableKeepAlives: true,
	Proxy:             nil,
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // our own server on loopback
}}

// healthy: /health says true (the member has a leader, so it serves).
func (s *Server) healthy() bool {
	resp, err := client.Get(s.Endpoint + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"true"`))
}

// enableAuth creates user root with role root and enables auth, through
// the gateway like etcdctl's `user add`, `user grant-role`, `auth enable`.
func (s *Server) enableAuth() {
	s.t.Helper()
	s.Call("/v3/auth/user/add", map[string]any{"name": RootUser, "password": s.opts.RootPassword}, "")
	s.Call("/v3/auth/role/add", map[string]any{"name": "root"}, "")
	s.Call("/v3/auth/user/grant", map[string]any{"user": RootUser, "role": "root"}, "")
	s.Call("/v3/auth/enable", map[string]any{}, "")
}

// Call POSTs req as JSON to the gateway path (e.g. /v3/kv/compaction)
// with the auth token token ("": none) and returns the decoded answer;
// any status but 200 fails the test.
func (s *Server) Call(path string, req any, token string) map[string]any {
	s.t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		s.t.Fatal(err)
	}
	hreq, err := http.NewRequest(http.MethodPost, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		hreq.Header.Set("Authorization", token)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		s.t.Fatalf("etcd %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		s.t.Fatalf("etcd %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("etcd %s: %s: %s", path, resp.Status, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("etcd %s: %v: %s", path, err, raw)
	}
	return out
}

// Token authenticates as root and returns the token (auth must be on).
func (s *Server) Token() string {
	s.t.Helper()
	out := s.Call("/v3/auth/authenticate", map[string]any{"name": RootUser, "password": s.opts.RootPassword}, "")
	tok, _ := out["token"].(string)
	if tok == "" {
		s.t.Fatalf("etcd authenticate: no token in %v", out)
	}
	return tok
}

// DeadEndpoint is an http:// URL of a loopback port nothing listens on
// (free a moment ago).
func DeadEndpoint(t testing.TB) string {
	t.Helper()
	return "http://" + proctest.FreeAddr(t)
}
