package load

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// Sent is what a run sent.
type Sent struct {
	Lines     int64         `json:"lines"`
	Counted   int64         `json:"counted"` // counter and timer lines: what Count can see
	Datagrams int64         `json:"datagrams"`
	Bytes     int64         `json:"bytes"`
	Errors    int64         `json:"errors"` // failed sends (UDP: ECONNREFUSED from an earlier datagram; dropped)
	FirstErr  string        `json:"first_error,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	Rate      float64       `json:"lines_per_sec"` // achieved
	CPU       time.Duration `json:"cpu_ns"`        // this process's user+system CPU while sending
}

// paceSlack is how far ahead of schedule pacing may sleep: time.Sleep is
// coarse, so the sender catches up in short bursts, as a real fleet of
// clients also sends.
const paceSlack = 200 * time.Microsecond

// Send sends p to c.Addr, rate-controlled or flat out, from one goroutine
// that takes the sockets in turn (UDP: datagram i goes out of socket
// i%Sockets; TCP: write i on connection i%Sockets), until Duration or Lines
// or ctx ends it. A TCP write blocks when the server reads slower than it
// is sent: TCP loses nothing, so the rate is then the server's.
func Send(ctx context.Context, c Config, p *Payload) (Sent, error) {
	if err := c.Validate(); err != nil {
		return Sent{}, err
	}
	c = c.withDefaults()
	if len(p.Datagrams) == 0 {
		return Sent{}, fmt.Errorf("%w: empty payload", ErrConfig)
	}
	conns := make([]net.Conn, 0, c.Sockets)
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	for range c.Sockets {
		cn, err := d.DialContext(ctx, c.Network, c.Addr)
		if err != nil {
			return Sent{}, fmt.Errorf("dial %s %s: %w", c.Network, c.Addr, err)
		}
		conns = append(conns, cn)
	}
	var s Sent
	u0, k0 := benchkit.SelfCPU()
	t0 := time.Now()
	var end time.Time
	if c.Duration > 0 {
		end = t0.Add(c.Duration)
	}
	if dl, ok := ctx.Deadline(); ok && (end.IsZero() || dl.Before(end)) {
		end = dl
	}
	if c.Network == "tcp" && !end.IsZero() {
		// Writes are whole, so that the server sees no partial line: the
		// deadline only keeps a server that stopped reading from hanging
		// the run.
		for _, cn := range conns {
			_ = cn.SetWriteDeadline(end.Add(30 * time.Second))
		}
	}
	var tcpErr error
	for i := 0; ; i++ {
		if c.Lines > 0 && s.Lines >= c.Lines {
			break
		}
		// The clock is read every 16 datagrams flat out: a syscall's worth.
		if c.Rate > 0 || i%16 == 0 {
			now := time.Now()
			if !end.IsZero() && !now.Before(end) {
				break
			}
			if i%64 == 0 && ctx.Err() != nil {
				break
			}
			if c.Rate > 0 {
				due := t0.Add(time.Duration(float64(s.Lines) / c.Rate * float64(time.Second)))
				if wait := due.Sub(now); wait > paceSlack {
					if !end.IsZero() && due.After(end) {
						break
					}
					time.Sleep(wait)
				}
			}
		}
		dg := &p.Datagrams[i%len(p.Datagrams)]
		_, err := conns[i%len(conns)].Write(dg.Data)
		if err != nil {
			if c.Network == "tcp" {
				tcpErr = err
				break
			}
			s.Errors++
			if s.FirstErr == "" {
				s.FirstErr = err.Error()
			}
			continue
		}
		s.Lines += int64(dg.Lines)
		s.Counted += int64(dg.Counted)
		s.Datagrams++
		s.Bytes += int64(len(dg.Data))
	}
	s.Duration = time.Since(t0)
	u1, k1 := benchkit.SelfCPU()
	s.CPU = u1 - u0 + k1 - k0
	if s.Duration > 0 {
		s.Rate = float64(s.Lines) / s.Duration.Seconds()
	}
	if tcpErr != nil {
		return s, fmt.Errorf("tcp %s: %w", c.Addr, tcpErr)
	}
	return s, nil
}
