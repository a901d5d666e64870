// Package syslogtest runs Debian's rsyslogd, a real syslog server, for the
// tests of the logsaver syslog sink: its own instance with an imtcp input
// on loopback and every message written to a file as one JSON object,
// with the fields rsyslog parsed. A missing binary fails the test: `make
// deps` (scripts/deps.sh) installs it.
package syslogtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
)

// Message is one message as rsyslog received and parsed it.
type Message struct {
	Raw            string `json:"raw"` // the whole message, without its frame
	PRI            string `json:"pri"`
	Hostname       string `json:"hostname"`
	AppName        string `json:"app"`
	ProcID         string `json:"procid"`
	MsgID          string `json:"msgid"`
	StructuredData string `json:"sd"`
	Msg            string `json:"msg"`
	Time           string `json:"time"` // TIMESTAMP as RFC 3339
}

// Server is a running rsyslogd.
type Server struct {
	Addr string // 127.0.0.1:PORT, imtcp (octet counting and LF framing)
	File string // the received messages, one JSON object a line
	Pid  int

	bin, dir string
	proc     *proctest.Proc
}

// Binary finds rsyslogd on PATH or in /usr/sbin, where Debian puts it.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd"
	}
	t.Fatal("rsyslogd is required (make deps, or apt-get install rsyslog)")
	return ""
}

// conf: rsyslog escapes control characters (a newline becomes #012), drops
// a trailing newline and cuts messages at 8 KiB unless told otherwise;
// jsonf writes each field JSON-escaped, so multi-line messages stay one
// line of the file.
const conf = `global(workDirectory=%q maxMessageSize="1m" parser.escapeControlCharactersOnReceive="off"
  parser.dropTrailingLFOnReception="off")
module(load="imtcp")
template(name="podkit" type="list" option.jsonf="on") {
  property(outname="raw" name="rawmsg" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")
}
input(type="imtcp" address="127.0.0.1" port=%q)
action(type="omfile" file=%q template="podkit")
`

// Start runs rsyslogd (-n, its own config and pid file in t.TempDir())
// on a free loopback port until the test ends (killed by its pid).
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: Binary(t), dir: t.TempDir()}
	s.File = filepath.Join(s.dir, "messages.json")
	s.start(t, "")
	return s
}

func (s *Server) start(t testing.TB, addr string) {
	t.Helper()
	p := proctest.StartServer(t, s.bin, func() []string {
		s.Addr = addr
		if s.Addr == "" {
			s.Addr = proctest.FreeAddr(t)
		}
		_, port, _ := net.SplitHostPort(s.Addr)
		cfg := filepath.Join(s.dir, "rsyslog.conf")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, conf, s.dir, port, s.File), 0o644); err != nil {
			t.Fatal(err)
		}
		pid := filepath.Join(s.dir, "rsyslogd.pid")
		_ = os.Remove(pid) // left by a killed instance
		return []string{"-n", "-f", cfg, "-i", pid}
	}, func() bool { return proctest.Dials("tcp", s.Addr) })
	s.Pid, s.proc = p.Pid, p
}

// Stop kills the server now (it is killed at the end of the test anyway).
func (s *Server) Stop() { s.proc.Stop() }

// Restart kills the server and starts it again on the same address,
// appending to the same file.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.proc.Stop()
	s.start(t, s.Addr)
}

// Messages waits until the file holds at least want messages and has not
// grown for 300 ms (rsyslog writes its file output up to ~1 s late), or
// 15 s passed, and returns every message in it, in order. Callers compare
// the count: more than want shows duplicates.
func (s *Server) Messages(t testing.TB, want int) []Message {
	t.Helper()
	var last []byte
	stableSince := time.Now()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		data, err := os.ReadFile(s.File)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if !bytes.Equal(data, last) {
			last, stableSince = data, time.Now()
		}
		n := bytes.Count(data, []byte{'\n'})
		if (n >= want && time.Since(stableSince) >= 300*time.Millisecond) || time.Now().After(deadline) {
			break
		}
	}
	var msgs []Message
	for _, line := range bytes.Split(last, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("rsyslog output line %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}
