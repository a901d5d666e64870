package hook

import "fmt"

// tailBuffer keeps the last max bytes written to it. The end of a failing
// hook's output is what says why it failed, so the head is what goes.
// It holds at most 2*max bytes at any time.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.dropped += int64(len(t.buf) + len(p) - t.max)
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.dropped += int64(over)
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	return n, nil
}

// String returns the kept bytes, marked when some were dropped.
func (t *tailBuffer) String() string {
	if t.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes dropped]\n%s", t.dropped, t.buf)
	}
	return string(t.buf)
}
