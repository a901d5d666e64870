// Package s3test runs versitygw, a real S3-compatible server, for the
// tests of the logsaver s3 sink. A missing binary fails the test: `make
// deps` (scripts/deps.sh) installs it with go install.
package s3test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podkit/podkit/internal/proctest"
)

// Module is what scripts/deps.sh installs.
const Module = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Server is a running versitygw serving a posix directory.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Addr      string // 127.0.0.1:PORT
	Region    string // us-east-1
	AccessKey string // the root account's
	SecretKey string
	Dir       string // the buckets, one directory each
	Pid       int

	proc *proctest.Proc
}

// Binary finds versitygw on PATH or in $(go env GOPATH)/bin.
func Binary(t testing.TB) string {
	t.Helper()
	return proctest.GoTool(t, "versitygw", Module)
}

// Start runs versitygw on a free loopback port over a directory in
// t.TempDir() until the test ends (killed by its pid), with the buckets
// given already created. Its root credentials are fixed test values.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	s := &Server{Region: "us-east-1", AccessKey: "podkit-test-key", SecretKey: "podkit-test-secret", Dir: t.TempDir()}
	for _, b := range buckets {
		s.CreateBucket(t, b)
	}
	bin := Binary(t)
	p := proctest.StartServer(t, bin, func() []string {
		s.Addr = proctest.FreeAddr(t)
		return []string{"--port", s.Addr, "--access", s.AccessKey, "--secret", s.SecretKey,
			"--region", s.Region, "--health", "/podkit-health", "--quiet", "posix", s.Dir}
	}, func() bool { return proctest.HTTPOK("http://" + s.Addr + "/podkit-health") })
	s.Endpoint, s.Pid, s.proc = "http://"+s.Addr, p.Pid, p
	return s
}

// Stop kills the server now (it is killed at the end of the test anyway).
func (s *Server) Stop() { s.proc.Stop() }

// CreateBucket makes bucket: versitygw's posix backend serves every
// directory under Dir as a bucket, so no signed request is needed.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.Dir, bucket), 0o755); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}
