package proctest

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GoTool finds a reference tool that scripts/deps.sh installs with go
// install: on PATH or in $(go env GOPATH)/bin. A missing one fails the test
// (never skips it), naming module, what installs it.
func GoTool(t testing.TB, name, module string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is required (make deps, or go install %s)", name, module)
	return ""
}

// StartServer runs bin with the arguments args returns until ready holds,
// calling args again (with fresh free ports) when the process exits or
// does not get ready: a port found free may be taken before the server
// binds it. It fails the test after five tries.
func StartServer(t testing.TB, bin string, args func() []string, ready func() bool) *Proc {
	t.Helper()
	var out string
	for range 5 {
		p := Start(t, bin, args()...)
		if p.WaitUntil(ready) {
			return p
		}
		p.Stop()
		out = p.Stderr.String()
	}
	t.Fatalf("%s did not start: %s", filepath.Base(bin), out)
	return nil
}

// HTTPOK reports whether GET url answers 200 now.
func HTTPOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Get fetches url and returns its body; an error or a status other than
// 200 fails the test.
func Get(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// Value returns the unlabelled sample name in a /metrics text; 0 when
// absent.
func Value(metrics, name string) float64 {
	for line := range strings.SplitSeq(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return 0
}

// Eventually polls cond every 10 ms for up to 30 s and fails the test with
// the message if it never holds. The bound only keeps a broken server from
// hanging the test; a loaded CI machine can be slow.
func Eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf(format, args...)
}
