package syslog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
	"github.com/podkit/podkit/internal/syslogtest"
	"github.com/podkit/podkit/pkg/logsaver/record"
)

func newSink(t *testing.T, addr string, labels ...record.Label) *Sink {
	t.Helper()
	s, err := New(Config{
		URL:    "syslog+tcp://" + addr + "?facility=local0&app-name=podkit-test&hostname=web-0",
		Labels: labels,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func batchOf(file string, from, n int, line func(i int) string) *record.Batch {
	b := &record.Batch{}
	for i := from; i < from+n; i++ {
		r := record.Record{Line: []byte(line(i)), File: file, Offset: int64(i) * 10, Time: time.Date(2026, 11, 29, 10, 0, 0, i*1000, time.UTC)}
		b.Records = append(b.Records, r)
		b.NDJSON = record.AppendNDJSON(b.NDJSON, &r, nil)
	}
	return b
}

func seq(i int) string { return "line " + strconv.Itoa(i) }

// N records arrive in order, and rsyslog's own parse of each shows the
// fields intact: PRI, timestamp, hostname, app-name, structured data, MSG.
func TestRecordsArriveInOrder(t *testing.T) {
	srv := syslogtest.Start(t)
	s := newSink(t, srv.Addr, record.Label{Name: "pod", Value: "web-0"}, record.Label{Name: "ns", Value: `a"b]c\d`})
	const batches, per = 5, 200
	for i := range batches {
		if err := s.Send(t.Context(), batchOf("/var/log/app.log", i*per, per, seq)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	msgs := srv.Messages(t, batches*per)
	if len(msgs) != batches*per {
		t.Fatalf("%d messages, want %d", len(msgs), batches*per)
	}
	for i, m := range msgs {
		wantSD := fmt.Sprintf(`[podkit@32473 file="/var/log/app.log" offset="%d" pod="web-0" ns="a\"b\]c\\d"]`, i*10)
		wantTime := fmt.Sprintf("2026-11-29T10:00:00.%06dZ", i)
		if m.Msg != seq(i) || m.PRI != "134" || m.Hostname != "web-0" || m.AppName != "podkit-test" ||
			m.ProcID != "-" || m.MsgID != "-" || m.StructuredData != wantSD || m.Time != wantTime {
			t.Fatalf("message %d: %+v\nwant msg %q, sd %s, time %s", i, m, seq(i), wantSD, wantTime)
		}
	}
}

// Lines with newlines, UTF-8, ']' and quotes, a leading space and an
// empty line survive: octet counting delimits them, not a newline.
func TestAwkwardLinesSurvive(t *testing.T) {
	srv := syslogtest.Start(t)
	s := newSink(t, srv.Addr)
	lines := []string{
		"first\nsecond\r\nthird",
		"ünïcödé — 日本語 ] [x=\"y\"] \\",
		"  leading spaces",
		"trailing newline\n",
		"[not=\"sd\"] after",
		strings.Repeat("long ", 20000), // 100 kB, over rsyslog's default 8 KiB limit
		"last",
	}
	b := batchOf("/logs/we\"ird]\\name ü.log", 0, len(lines), func(i int) string { return lines[i] })
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages(t, len(lines))
	if len(msgs) != len(lines) {
		t.Fatalf("%d messages, want %d", len(msgs), len(lines))
	}
	for i, m := range msgs {
		if m.Msg != lines[i] {
			t.Errorf("message %d: %q, want %q", i, clip(m.Msg), clip(lines[i]))
		}
		p, err := parseMessage([]byte(m.Raw))
		if err != nil {
			t.Errorf("message %d: raw %q does not parse back: %v", i, clip(m.Raw), err)
		} else if p.Params[0][1] != b.Records[i].File {
			t.Errorf("message %d: file %q", i, p.Params[0][1])
		}
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// After the server restarts, the next Send notices the closed connection,
// reconnects, and nothing sent after the restart is lost.
func TestReconnectAfterRestart(t *testing.T) {
	srv := syslogtest.Start(t)
	s := newSink(t, srv.Addr)
	if err := s.Send(t.Context(), batchOf("f", 0, 10, seq)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(t, 10); len(got) != 10 {
		t.Fatalf("%d messages before the restart, want 10", len(got))
	}
	srv.Restart(t)
	if err := s.Send(t.Context(), batchOf("f", 10, 10, seq)); err != nil {
		t.Fatalf("Send after restart: %v", err)
	}
	msgs := srv.Messages(t, 20)
	if len(msgs) != 20 {
		t.Fatalf("%d messages, want 20", len(msgs))
	}
	for i, m := range msgs {
		if m.Msg != seq(i) {
			t.Fatalf("message %d: %q, want %q", i, m.Msg, seq(i))
		}
	}
}

// With the server down Send fails (nothing may be assumed delivered); once
// it is back the next Send connects again.
func TestServerDownThenUp(t *testing.T) {
	srv := syslogtest.Start(t)
	s := newSink(t, srv.Addr)
	srv.Stop()
	if err := s.Send(t.Context(), batchOf("f", 0, 1, seq)); err == nil {
		t.Fatal("Send to a stopped server: nil error")
	}
	srv.Restart(t)
	if err := s.Send(t.Context(), batchOf("f", 1, 1, seq)); err != nil {
		t.Fatalf("Send after the server came back: %v", err)
	}
	if msgs := srv.Messages(t, 1); len(msgs) != 1 || msgs[0].Msg != seq(1) {
		t.Fatalf("messages %+v, want line 1 only", msgs)
	}
}

// A server that accepts but never reads: Send fails at the write deadline
// (or the context's) instead of blocking the sink forever.
func TestStalledServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			<-t.Context().Done()
			c.Close()
		}
	}()
	s, err := New(Config{URL: "syslog+tcp://" + l.Addr().String(), WriteTimeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := batchOf("f", 0, 1, func(int) string { return strings.Repeat("x", 16<<20) })
	start := time.Now()
	err = s.Send(t.Context(), big)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Send: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %s", d)
	}
}

func TestNameHasNoOptions(t *testing.T) {
	s := newSink(t, proctest.FreeAddr(t))
	if !strings.HasPrefix(s.Name(), "syslog+tcp://127.0.0.1:") || strings.Contains(s.Name(), "?") {
		t.Errorf("Name = %q", s.Name())
	}
}
