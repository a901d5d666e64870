package listen

import (
	"bytes"
	"errors"
	"io"
	"net"
)

// acceptLoop accepts TCP connections until the listener is closed.
func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	t := &l.tcpStats
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: count and keep serving.
			t.readErrors.Add(1)
			continue
		}
		t.conns.Add(1)
		l.mu.Lock()
		if l.closed || len(l.conns) >= l.cfg.MaxConns {
			l.mu.Unlock()
			if !l.closed {
				t.limited.Add(1)
			}
			c.Close()
			continue
		}
		l.conns[c] = struct{}{}
		t.open.Add(1)
		l.wg.Add(1)
		l.mu.Unlock()
		h := l.cfg.NewHandler()
		go func() {
			defer l.wg.Done()
			l.serveConn(c, h)
			l.mu.Lock()
			delete(l.conns, c)
			l.mu.Unlock()
			t.open.Add(-1)
			c.Close()
		}()
	}
}

// serveConn reads newline-terminated lines and hands each read's complete
// lines to h as one batch. A line longer than MaxLineLength is skipped up
// to its newline and counted; the connection stays open (statsd_exporter
// closes it). A final line without a newline is dropped at EOF, as a
// partial line in flight would be.
func (l *Listener) serveConn(c net.Conn, h Handler) {
	t := &l.tcpStats
	buf := make([]byte, l.cfg.MaxPacketSize)
	maxLine := l.cfg.MaxLineLength
	pending := 0      // buf[:pending] is the start of a line
	skipping := false // inside a too-long line: discard up to '\n'
	for {
		n, err := c.Read(buf[pending:])
		if n > 0 {
			data := buf[:pending+n]
			if skipping {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					data = data[:0]
				} else {
					skipping = false
					data = data[i+1:]
				}
			}
			if last := bytes.LastIndexByte(data, '\n'); last >= 0 {
				w, tooLong := compactLines(data[:last+1], maxLine)
				t.tooLong.Add(uint64(tooLong))
				if w > 0 {
					t.packets.Add(1)
					t.bytes.Add(uint64(w))
					h(data[:w])
				}
				data = data[last+1:]
			}
			// Keep the partial line at the front; a partial line already
			// over the limit (plus a possible '\r') is skipped.
			if len(data) > maxLine+1 {
				t.tooLong.Add(1)
				skipping = true
				pending = 0
			} else {
				pending = copy(buf, data)
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !isEOF(err) {
				t.readErrors.Add(1)
			}
			return
		}
	}
}

// compactLines rewrites b, complete lines each ending in '\n', in place:
// "\r\n" becomes "\n" (the parser keeps a '\r', which statsd_exporter's TCP
// reader strips) and lines longer than maxLine are removed. It returns the
// new length and how many lines were removed.
func compactLines(b []byte, maxLine int) (w, tooLong int) {
	for r := 0; r < len(b); {
		i := bytes.IndexByte(b[r:], '\n')
		line := b[r : r+i]
		r += i + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > maxLine {
			tooLong++
			continue
		}
		if len(line) == 0 {
			continue // the parser ignores it anyway
		}
		// w never passes the line's start: copy moves data down.
		w += copy(b[w:], line)
		b[w] = '\n'
		w++
	}
	return w, tooLong
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
