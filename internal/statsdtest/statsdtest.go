// Package statsdtest runs prometheus/statsd_exporter, the reference of
// podkit metrics-adapter (issue 5), for side-by-side tests. A missing binary
// fails the test: `make deps` (scripts/deps.sh) installs it with go install.
package statsdtest

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
)

// Exporter is a running statsd_exporter.
type Exporter struct {
	UDPAddr string // statsd over UDP: 127.0.0.1:PORT
	TCPAddr string // statsd over TCP
	URL     string // http://127.0.0.1:PORT: /metrics
	Pid     int

	sent int // Sends so far: the sentinel's expected value
}

// Module is what scripts/deps.sh installs.
const Module = "github.com/prometheus/statsd_exporter@v0.31.0"

// Binary finds statsd_exporter on PATH or in $(go env GOPATH)/bin.
func Binary(t testing.TB) string {
	t.Helper()
	return proctest.GoTool(t, "statsd_exporter", Module)
}

// Start runs statsd_exporter with the mapping file (none for "") and extra
// flags until the test ends (killed by its pid), and waits until /metrics
// answers. Its ports are found by binding :0 first; it tries again if one
// was taken in between.
func Start(t testing.TB, mapping string, extra ...string) *Exporter {
	t.Helper()
	e := &Exporter{}
	p := proctest.StartServer(t, Binary(t), func() []string {
		e.UDPAddr, e.TCPAddr = proctest.FreeAddr(t), proctest.FreeAddr(t)
		web := proctest.FreeAddr(t)
		e.URL = "http://" + web
		args := []string{"--statsd.listen-udp=" + e.UDPAddr, "--statsd.listen-tcp=" + e.TCPAddr, "--web.listen-address=" + web}
		if mapping != "" {
			args = append(args, "--statsd.mapping-config="+mapping)
		}
		return append(args, extra...)
	}, func() bool { return proctest.HTTPOK(e.URL + "/metrics") })
	e.Pid = p.Pid
	return e
}

// Sentinel is the counter Send adds after the caller's lines: statsd_exporter
// handles events in order, in batches, so once the sentinel shows, every
// line before it has been handled. Comparisons should ignore it (a mapping
// with a catch-all match may rename it; Send then cannot tell).
const Sentinel = "statsdtest_sentinel"

// Send writes statsd lines to the exporter over TCP, which loses nothing,
// and waits until it has handled them.
func (e *Exporter) Send(t testing.TB, lines ...string) {
	t.Helper()
	e.sent++
	c, err := net.DialTimeout("tcp", e.TCPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, strings.Join(append(lines, Sentinel+":1|c"), "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, func() bool { return e.Counter(t, Sentinel) >= float64(e.sent) },
		"statsd_exporter did not handle the lines (sentinel %s not at %d)", Sentinel, e.sent)
}

// Metrics returns the exporter's /metrics text.
func (e *Exporter) Metrics(t testing.TB) string {
	t.Helper()
	return proctest.Get(t, e.URL+"/metrics")
}

// Counter returns the value of an unlabelled sample, 0 when absent.
func (e *Exporter) Counter(t testing.TB, name string) float64 {
	t.Helper()
	return proctest.Value(e.Metrics(t), name)
}
