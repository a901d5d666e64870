package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// console is the demo's one output stream. Writes are whole lines under a
// lock, so the containers' logs interleave by line, never mid-line.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	width int // longest container name, to align "name | " prefixes
}

func newConsole(w io.Writer, names ...string) *console {
	c := &console{w: w}
	for _, n := range names {
		c.width = max(c.width, len(n))
	}
	return c
}

func (c *console) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Write(b)
}

func (c *console) printf(format string, a ...any) {
	c.write(fmt.Appendf(nil, format, a...))
}

// prefixed returns a writer for one container's output, compose style:
// "health | <line>".
func (c *console) prefixed(name string) *prefixWriter {
	return &prefixWriter{con: c, prefix: fmt.Sprintf("%-*s | ", c.width, name)}
}

// prefixWriter is fed by one goroutine (os/exec's copier), then flushed.
type prefixWriter struct {
	con    *console
	prefix string
	buf    []byte
}

// Long enough for any log line; a child that never writes a newline still
// gets its output shown.
const maxLine = 64 << 10

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.line(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) >= maxLine {
		p.flush()
	}
	return len(b), nil
}

// flush writes a last unterminated line.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.line(p.buf)
		p.buf = nil
	}
}

func (p *prefixWriter) line(l []byte) {
	out := make([]byte, 0, len(p.prefix)+len(l)+1)
	out = append(append(append(out, p.prefix...), l...), '\n')
	p.con.write(out)
}
