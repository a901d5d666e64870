// Package graphitetest runs prometheus/graphite_exporter v0.16.0, the
// reference of the graphite input of podkit metrics-adapter, for
// side-by-side tests. A missing binary fails the test: `make deps`
// (scripts/deps.sh) installs it with go install.
package graphitetest

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
)

// Module is what scripts/deps.sh installs.
const Module = "github.com/prometheus/graphite_exporter/cmd/graphite_exporter@v0.16.0"

// Exporter is a running graphite_exporter.
type Exporter struct {
	Addr string // Graphite plaintext over TCP and UDP: 127.0.0.1:PORT
	URL  string // http://127.0.0.1:PORT: /metrics
	Pid  int

	sent int // Sends so far: the sentinel's expected value
}

// Binary finds graphite_exporter on PATH or in $(go env GOPATH)/bin.
func Binary(t testing.TB) string {
	t.Helper()
	return proctest.GoTool(t, "graphite_exporter", Module)
}

// Start runs graphite_exporter with the mapping file (none for "") and
// extra flags until the test ends, and waits until /metrics answers. Its
// ports are found by binding :0 first (the Graphite port must be free for
// both TCP and UDP); it tries again if one was taken in between.
func Start(t testing.TB, mapping string, extra ...string) *Exporter {
	t.Helper()
	e := &Exporter{}
	p := proctest.StartServer(t, Binary(t), func() []string {
		e.Addr = proctest.FreeAddr(t)
		web := proctest.FreeAddr(t)
		e.URL = "http://" + web
		args := []string{"--graphite.listen-address=" + e.Addr, "--web.listen-address=" + web}
		if mapping != "" {
			args = append(args, "--graphite.mapping-config="+mapping)
		}
		return append(args, extra...)
	}, func() bool { return proctest.HTTPOK(e.URL + "/metrics") })
	e.Pid = p.Pid
	return e
}

// Sentinel is the gauge Send writes after the caller's lines, with the
// number of Sends as its value: graphite_exporter handles the lines of one
// connection in order, so once the sentinel shows that value every line
// before it has been stored. Comparisons should ignore it.
const Sentinel = "graphitetest_sentinel"

// Send writes Graphite lines over TCP, which loses nothing, and waits until
// the exporter has stored them. "TS" in a line becomes the current Unix
// time, so that the samples are not expired.
func (e *Exporter) Send(t testing.TB, lines ...string) {
	t.Helper()
	e.sent++
	now := strconv.FormatInt(time.Now().Unix(), 10)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.ReplaceAll(l, "TS", now) + "\n")
	}
	fmt.Fprintf(&b, "%s %d %s\n", Sentinel, e.sent, now)
	c, err := net.DialTimeout("tcp", e.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, func() bool { return e.Value(t, Sentinel) >= float64(e.sent) },
		"graphite_exporter did not store the lines (sentinel %s not at %d)", Sentinel, e.sent)
}

// Metrics returns the exporter's /metrics text.
func (e *Exporter) Metrics(t testing.TB) string {
	t.Helper()
	return proctest.Get(t, e.URL+"/metrics")
}

// Value returns the value of an unlabelled sample, 0 when absent.
func (e *Exporter) Value(t testing.TB, name string) float64 {
	t.Helper()
	return proctest.Value(e.Metrics(t), name)
}
