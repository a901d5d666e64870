package memcacheproxy

import (
	"sync"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// Requests recycle their objects and buffers: at tens of thousands of
// requests a second, a dozen allocations each made the collector run
// dozens of times a second and cost more CPU than the parsing. The pools
// are sync.Pools, which the collector empties, so a load spike's buffers
// are returned; buffers past maxPooledBuf are never kept.
var (
	pendingPool = sync.Pool{New: func() any { return new(pending) }}
	bereqPool   = sync.Pool{New: func() any { return new(bereq) }}
)

const maxPooledBuf = 16 << 10

func newPending() *pending { return pendingPool.Get().(*pending) }

// localReply is a pending answered by the proxy itself.
func localReply(reply string, quit bool) *pending {
	pd := newPending()
	pd.out = append(pd.out, reply...)
	pd.quit = quit
	return pd
}

// release recycles pd and its requests once its answer has been copied
// out; nothing may use them afterwards.
func (pd *pending) release() {
	for i := range pd.parts {
		pd.parts[i].req.release()
		pd.parts[i] = part{}
	}
	pd.c, pd.st = nil, nil
	pd.remaining.Store(0)
	pd.out = keep(pd.out)
	pd.parts = pd.parts[:0]
	pd.keyBuf = keep(pd.keyBuf)
	if cap(pd.keys) > maxPooledBuf/8 {
		pd.keys = nil
	}
	pd.keys = pd.keys[:0]
	pd.quit, pd.end = false, false
	pendingPool.Put(pd)
}

// newBereq returns a request for cmd whose buf the caller fills.
func newBereq(cmd protocol.Command) *bereq {
	r := bereqPool.Get().(*bereq)
	r.cmd = cmd
	return r
}

func (r *bereq) release() {
	*r = bereq{buf: keep(r.buf), out: keep(r.out), eout: keep(r.eout), spans: r.spans[:0]}
	if cap(r.spans) > maxPooledBuf/12 {
		r.spans = nil
	}
	bereqPool.Put(r)
}

func keep(b []byte) []byte {
	if cap(b) > maxPooledBuf {
		return nil
	}
	return b[:0]
}

// fifo is a queue whose array is reused from its start whenever it drains,
// so a steady flow of requests allocates nothing; a burst's larger array is
// let go when the queue drains.
type fifo[T any] struct {
	q    []*T
	base []*T // q's array, from its start
}

func (f *fifo[T]) push(v *T) {
	if len(f.q) == 0 {
		f.q = f.base[:0]
	}
	c := cap(f.q)
	f.q = append(f.q, v)
	if len(f.q) == 1 || cap(f.q) != c {
		f.base = f.q[:0]
	}
}

func (f *fifo[T]) head() *T { return f.q[0] }
func (f *fifo[T]) len() int { return len(f.q) }

func (f *fifo[T]) pop() {
	f.q[0] = nil
	f.q = f.q[1:]
	if len(f.q) == 0 {
		f.q = f.base[:0]
		if cap(f.base) > 4*maxPending {
			f.q, f.base = nil, nil
		}
	}
}

// take empties the queue and returns what was in it.
func (f *fifo[T]) take() []*T {
	q := f.q
	f.q, f.base = nil, nil
	return q
}
