package gittest

import (
	"bytes"
	"crypto/subtle"
	"encoding/pem"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/podkit/podkit/internal/proctest"
)

// ServeDaemon runs `git daemon` on a free loopback port until the test
// ends and returns r's git:// URL. It serves every repository of the test
// (so relative submodule URLs resolve) and accepts pushes. It is ready when
// the port accepts connections and `git ls-remote` answers.
func ServeDaemon(t testing.TB, r *Repo) string {
	t.Helper()
	envBin, err := exec.LookPath("env")
	if err != nil {
		t.Fatal("env is required (coreutils)")
	}
	// `git daemon` would run git-daemon as a child, which outlives the
	// kill of its parent and keeps proctest's output pipe open: run
	// git-daemon itself. env -i execs it in place (the pid proctest kills
	// is the daemon's); the daemon passes its environment on to the
	// upload-pack and receive-pack it runs.
	execPath, err := run(t, r.env, "", "--exec-path")
	if err != nil {
		t.Fatal(err)
	}
	daemon := filepath.Join(execPath, "git-daemon")
	var addr string
	args := func() []string {
		addr = proctest.FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		return append([]string{"-i", "PATH=" + execPath + ":" + os.Getenv("PATH")}, append(daemonEnv(r.root.home), daemon,
			"--export-all", "--base-path="+r.root.srv, "--listen=127.0.0.1", "--port="+port,
			"--reuseaddr", "--enable=receive-pack", "--informative-errors")...)
	}
	ready := func() bool {
		if !proctest.Dials("tcp", addr) {
			return false
		}
		_, err := run(t, r.env, "", "ls-remote", "git://"+addr+"/"+r.Name)
		return err == nil
	}
	proctest.StartServer(t, envBin, args, ready)
	return "git://" + addr + "/" + r.Name
}

func daemonEnv(home string) []string {
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
}

// ServeHTTP serves the test's repositories with the smart HTTP protocol
// (`git http-backend` through net/http/cgi) on a loopback httptest server
// until the test ends, and returns r's http:// URL without credentials.
// With a non-empty user, a request without that user and pass as basic
// auth gets 401 with a WWW-Authenticate challenge; with credentials,
// pushes are accepted too (http-backend allows receive-pack once
// REMOTE_USER is set). An empty user serves anonymously, fetches only.
func ServeHTTP(t testing.TB, r *Repo, user, pass string) string {
	t.Helper()
	srv := httptest.NewServer(backend(t, r, user, pass))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + r.Name
}

// ServeHTTPS is ServeHTTP over TLS with httptest's self-signed certificate
// for 127.0.0.1. It also returns a PEM file of that certificate for the
// client to trust (git -c http.sslCAInfo=FILE, or a CA bundle option).
func ServeHTTPS(t testing.TB, r *Repo, user, pass string) (url, caFile string) {
	t.Helper()
	srv := httptest.NewTLSServer(backend(t, r, user, pass))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	f, err := os.CreateTemp(r.root.dir, "ca-*.pem")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(ca); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/" + r.Name, f.Name()
}

func backend(t testing.TB, r *Repo, user, pass string) http.Handler {
	t.Helper()
	git := Binary(t)
	logs := new(lockedBuffer)
	t.Cleanup(func() {
		if t.Failed() && logs.Len() > 0 {
			t.Logf("git http-backend output:\n%s", logs)
		}
	})
	env := append(daemonEnv(r.root.home), "GIT_PROJECT_ROOT="+r.root.srv, "GIT_HTTP_EXPORT_ALL=1")
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if user != "" && (!ok || !equal(u, user) || !equal(p, pass)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h := &cgi.Handler{
			Path:   git,
			Args:   []string{"http-backend"},
			Dir:    r.root.srv,
			Env:    env,
			Logger: log.New(logs, "", 0),
			Stderr: logs,
		}
		if user != "" {
			h.Env = append(h.Env[:len(h.Env):len(h.Env)], "REMOTE_USER="+user)
		}
		h.ServeHTTP(w, req)
	})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// lockedBuffer collects the output of concurrent CGI children.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
