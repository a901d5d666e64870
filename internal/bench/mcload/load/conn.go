package load

import (
	"bufio"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync/atomic"
	"time"
)

// worker drives one connection: one goroutine writing and reading in turn
// at pipeline depth 1, else a writer (this goroutine) and a reader.
type worker struct {
	sh       *shared
	id       int
	addr     string
	conn     net.Conn // nil after a failure, until redialled
	rng      *rand.Rand
	versions []uint64 // last version sent of each owned key: key id + j*Conns at j
	warm     bool     // the phase: warm-up sets every owned key once, in order
	warmNext int      // warm-up: the next owned key
	st       *stats   // this phase's tally, written by the reading goroutine only

	wc, rc codec  // the writer's and the reader's scratch
	wbuf   []byte // requests encoded, not yet written
	br     *bufio.Reader
	slots  []request
	wdl    int64       // when the write deadline was last pushed (ns since base)
	rdl    int64       // same for the read deadline
	dead   atomic.Bool // the session failed
	cause  error       // its first failure; read after both goroutines end
}

// codec holds a goroutine's scratch buffers for encoding and decoding.
type codec struct {
	*shared
	keyBuf  []byte
	scratch []byte
}

func newWorker(sh *shared, id int) *worker {
	cfg := &sh.cfg
	owned := (cfg.Keys - id + cfg.Conns - 1) / cfg.Conns
	w := &worker{
		sh:       sh,
		id:       id,
		addr:     cfg.Addrs[id%len(cfg.Addrs)],
		rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(id))),
		versions: make([]uint64, owned),
		wc:       codec{shared: sh},
		rc:       codec{shared: sh},
		br:       bufio.NewReaderSize(nil, max(16<<10, cfg.ValueSize+1024)),
	}
	return w
}

// next fills req with the next request of the phase, or returns false when
// the phase is over for this connection.
func (w *worker) next(req *request) bool {
	sh, cfg := w.sh, &w.sh.cfg
	if sh.stopped.Load() {
		return false
	}
	if w.warm {
		if w.warmNext >= len(w.versions) {
			return false
		}
		w.setOwned(req, w.warmNext)
		w.warmNext++
		return true
	}
	if cfg.Ops > 0 && sh.remaining.Add(-1) < 0 {
		return false
	}
	if w.rng.IntN(cfg.GetWeight+cfg.SetWeight) >= cfg.GetWeight {
		w.setOwned(req, w.rng.IntN(len(w.versions)))
		return true
	}
	req.op = opGet
	req.keys, req.floor = req.keys[:0], req.floor[:0]
	for len(req.keys) < cfg.Multiget {
		k := w.rng.IntN(cfg.Keys)
		if cfg.Multiget <= maxDistinct && slices.Contains(req.keys, k) {
			continue
		}
		req.keys = append(req.keys, k)
		req.floor = append(req.floor, sh.acked[k].Load())
	}
	return true
}

func (w *worker) setOwned(req *request, j int) {
	w.versions[j]++
	req.op = opSet
	req.keys = append(req.keys[:0], w.id+j*w.sh.cfg.Conns)
	req.version = w.versions[j]
}

// finished reports that the phase has nothing left for this connection.
func (w *worker) finished() bool {
	if w.sh.stopped.Load() {
		return true
	}
	if w.warm {
		return w.warmNext >= len(w.versions)
	}
	return w.sh.cfg.Ops > 0 && w.sh.remaining.Load() <= 0
}

// runPhase runs the phase to its end, redialling after a failure (the
// requests in flight are counted lost).
func (w *worker) runPhase(warm bool, st *stats, depth int) {
	w.warm, w.st = warm, st
	if len(w.slots) < depth {
		w.slots = make([]request, depth)
		for i := range w.slots {
			w.slots[i].keys = make([]int, 0, w.sh.cfg.Multiget)
			w.slots[i].floor = make([]uint64, 0, w.sh.cfg.Multiget)
		}
	}
	for !w.finished() {
		if w.conn == nil {
			conn, err := net.DialTimeout("tcp", w.addr, w.sh.cfg.Timeout)
			if err != nil {
				st.fail(kindOf(err), "dial %s: %v", w.addr, err)
				if !w.sh.sleep(100 * time.Millisecond) {
					return
				}
				continue
			}
			w.conn = conn
		}
		var err error
		if depth == 1 {
			err = w.serial()
		} else {
			err = w.pipelined(depth)
		}
		if err == nil {
			return
		}
		st.fail(kindOf(err), "%s: %v", w.addr, err)
		w.close()
		if !w.sh.sleep(10 * time.Millisecond) {
			return
		}
	}
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func kindOf(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, errMangled):
		return errProtocol
	case errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	}
	return errConn
}

func (w *worker) resetSession() {
	w.wdl, w.rdl = math.MinInt64/2, math.MinInt64/2
	w.dead.Store(false)
	w.cause = nil
	w.wbuf = w.wbuf[:0]
	w.br.Reset(w.conn)
}

// pushDeadline moves a deadline to now+Timeout once a quarter of the timeout
// has passed since the last move: a deadline per request would cost a timer
// update each, and the wait left is always at least 3/4 of the timeout.
func (w *worker) pushDeadline(last *int64, now int64, set func(time.Time) error) {
	t := int64(w.sh.cfg.Timeout)
	if now-*last > t/4 {
		*last = now
		_ = set(w.sh.base.Add(time.Duration(now + t)))
	}
}

// serial sends a request and reads its response, in turn: pipeline depth 1.
func (w *worker) serial() error {
	w.resetSession()
	sh, req := w.sh, &w.slots[0]
	for w.next(req) {
		req.start = sh.now()
		w.wbuf = w.wc.appendRequest(w.wbuf[:0], req)
		w.pushDeadline(&w.wdl, req.start, w.conn.SetWriteDeadline)
		if _, err := w.conn.Write(w.wbuf); err != nil {
			w.st.errs[errLost]++
			return err
		}
		w.pushDeadline(&w.rdl, req.start, w.conn.SetReadDeadline)
		if err := w.rc.readResponse(w.br, req, w.st); err != nil {
			w.st.errs[errLost]++
			return err
		}
		w.st.lat[req.op].add(sh.now() - req.start)
	}
	return nil
}

// pipelined keeps up to depth requests in flight. Request slots circulate
// through two channels: free (the writer takes one before sending a
// request, so in flight never exceeds depth) and sent (the reader takes them
// in order, reads their responses, and frees them). The writer batches:
// it writes what it has encoded only when no slot is free.
func (w *worker) pipelined(depth int) error {
	w.resetSession()
	free := make(chan *request, depth)
	sent := make(chan *request, depth)
	for i := range depth {
		free <- &w.slots[i]
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.readLoop(free, sent)
	}()
	w.writeLoop(free, sent)
	close(sent)
	<-done
	return w.cause
}

// fail marks the session failed and closes its connection, which stops the
// other goroutine's I/O. The first failure is the session's cause: the
// other goroutine then sees only the closed connection.
func (w *worker) fail(err error) {
	if w.dead.CompareAndSwap(false, true) {
		w.cause = err
	}
	w.conn.Close()
}

func (w *worker) writeLoop(free, sent chan *request) {
	sh := w.sh
	flush := func() bool {
		if len(w.wbuf) == 0 {
			return true
		}
		w.pushDeadline(&w.wdl, sh.now(), w.conn.SetWriteDeadline)
		_, err := w.conn.Write(w.wbuf)
		w.wbuf = w.wbuf[:0]
		if err != nil {
			w.fail(err)
		}
		return err == nil
	}
	for !w.dead.Load() {
		var req *request
		select {
		case req = <-free:
		default:
			if !flush() {
				return
			}
			req = <-free
		}
		if !w.next(req) {
			break
		}
		req.start = sh.now()
		sent <- req // never blocks: there are depth slots
		w.wbuf = w.wc.appendRequest(w.wbuf, req)
	}
	if !w.dead.Load() {
		flush()
	}
}

func (w *worker) readLoop(free, sent chan *request) {
	sh := w.sh
	failed := false
	for req := range sent {
		if !failed {
			w.pushDeadline(&w.rdl, sh.now(), w.conn.SetReadDeadline)
			if err := w.rc.readResponse(w.br, req, w.st); err != nil {
				w.fail(err)
				failed = true
			} else {
				w.st.lat[req.op].add(sh.now() - req.start)
			}
		}
		if failed {
			w.st.errs[errLost]++
		}
		free <- req
	}
}
