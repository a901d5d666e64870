// Package tail keeps the end of a command's output, for error messages:
// when a check or hook fails, its last words say why.
package tail

import (
	"strings"
	"sync"
)

// Limit is how many bytes of output a Buffer keeps.
const Limit = 1 << 10

// Buffer is an io.Writer that keeps the last Limit bytes written to it. It is
// safe for concurrent use, so stdout and stderr may share one.
type Buffer struct {
	mu  sync.Mutex
	b   []byte
	cut bool
}

func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) > Limit {
		p = p[len(p)-Limit:]
		t.b = t.b[:0]
		t.cut = true
	}
	if over := len(t.b) + len(p) - Limit; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.cut = true
	}
	t.b = append(t.b, p...)
	return n, nil
}

// Suffix is ": <output>" with the output on one line, "…" first when the
// start was dropped, or "" for no output.
func (t *Buffer) Suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(t.b), "?")), " ")
	if s == "" {
		return ""
	}
	if t.cut {
		s = "…" + s
	}
	return ": " + s
}
