package supervisor

import (
	"io"
	"os"
	"sync"
	"time"
)

// Streams of the child's output.
const (
	stdout = iota
	stderr
)

var streamNames = [2]string{"stdout", "stderr"}

const (
	maxLineBytes = 16 << 10 // a longer line is kept in pieces
	lineOverhead = 64       // bytes charged per line besides its text, so empty lines are bounded too
)

// logLine is one line of the child's output.
type logLine struct {
	at     time.Time
	stream int
	text   string
}

// ring keeps the child's most recent output lines within a byte bound.
type ring struct {
	mu      sync.Mutex
	max     int
	bytes   int
	lines   []logLine // oldest first, from index first
	first   int
	partial [2][]byte // an unfinished last line per stream
}

func newRing(max int) *ring { return &ring{max: max} }

// write adds output of stream, split into lines.
func (r *ring) write(stream int, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for len(p) > 0 {
		part := r.partial[stream]
		i := indexNL(p)
		if i < 0 {
			take := min(len(p), maxLineBytes-len(part))
			r.partial[stream] = append(part, p[:take]...)
			p = p[take:]
			if len(r.partial[stream]) == maxLineBytes {
				r.addLocked(now, stream, r.partial[stream])
				r.partial[stream] = r.partial[stream][:0]
			}
			continue
		}
		line := p[:i]
		if len(part) > 0 {
			line = append(part, line...)
			r.partial[stream] = part[:0]
		}
		for len(line) > maxLineBytes {
			r.addLocked(now, stream, line[:maxLineBytes])
			line = line[maxLineBytes:]
		}
		r.addLocked(now, stream, line)
		p = p[i+1:]
	}
}

// flush keeps a last line that ended without a newline.
func (r *ring) flush(stream int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.partial[stream]) > 0 {
		r.addLocked(time.Now(), stream, r.partial[stream])
		r.partial[stream] = nil
	}
}

func indexNL(p []byte) int {
	for i, c := range p {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func (r *ring) addLocked(at time.Time, stream int, text []byte) {
	l := logLine{at: at, stream: stream, text: string(text)}
	r.lines = append(r.lines, l)
	r.bytes += len(l.text) + lineOverhead
	for r.bytes > r.max && r.first < len(r.lines) {
		r.bytes -= len(r.lines[r.first].text) + lineOverhead
		r.lines[r.first] = logLine{}
		r.first++
	}
	if r.first > len(r.lines)/2 && r.first > 64 {
		n := copy(r.lines, r.lines[r.first:])
		clear(r.lines[n:])
		r.lines, r.first = r.lines[:n], 0
	}
}

// tail returns up to n of the most recent lines of the given streams
// (stream -1: both), oldest first; n < 0 is all.
func (r *ring) tail(n, stream int) []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logLine
	for i := len(r.lines) - 1; i >= r.first && (n < 0 || len(out) < n); i-- {
		if stream < 0 || r.lines[i].stream == stream {
			out = append(out, r.lines[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// capture connects the child's stdout and stderr to pipes whose pumps pass
// the bytes through unchanged and feed the ring. The pipes outlive restarts.
type capture struct {
	w     [2]*os.File // the child's ends; stdioInherit without capture
	r     [2]*os.File
	pumps sync.WaitGroup
}

func (c *capture) open(s *Supervisor) error {
	if s.logs == nil {
		c.w = [2]*os.File{stdioInherit, stdioInherit}
		return nil
	}
	outs := [2]io.Writer{s.cfg.Stdout, s.cfg.Stderr}
	for i := range outs {
		r, w, err := s.sys.pipe()
		if err != nil {
			c.close()
			return err
		}
		c.r[i], c.w[i] = r, w
		if r == nil {
			continue
		}
		c.pumps.Add(1)
		go func() {
			defer c.pumps.Done()
			s.pump(i, r, outs[i])
		}()
	}
	return nil
}

// close ends the pumps once what the child wrote is through: the pipes see
// EOF when the last writer closes, unless something the child started still
// holds them, which waits execWaitDelay.
func (c *capture) close() {
	for i, w := range c.w {
		if w != nil && w != stdioInherit {
			_ = w.Close()
			c.w[i] = nil
		}
	}
	done := make(chan struct{})
	go func() {
		c.pumps.Wait()
		close(done)
	}()
	t := time.NewTimer(execWaitDelay)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	for _, r := range c.r {
		if r != nil {
			_ = r.Close()
		}
	}
	t.Reset(execWaitDelay)
	select {
	case <-done:
	case <-t.C: // a pump blocked writing to our own stdout: leave it
	}
}

func (s *Supervisor) pump(stream int, r io.Reader, out io.Writer) {
	buf := make([]byte, 32<<10)
	broken := false
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !broken {
				if _, werr := out.Write(buf[:n]); werr != nil {
					broken = true
					s.log.Warn("cannot pass the child's output through; /logs still has it", "stream", streamNames[stream], "err", werr)
				}
			}
			s.logs.write(stream, buf[:n])
			s.m.output[stream].Add(float64(n))
		}
		if err != nil {
			s.logs.flush(stream)
			return
		}
	}
}
