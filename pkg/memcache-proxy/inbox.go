package memcacheproxy

import (
	"bufio"
	"bytes"
	"errors"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// errNeedMore ends a parse that ran out of buffered input: the request is
// parsed again from its start once more has arrived.
var errNeedMore = errors.New("need more input")

// inbox turns a client's bytes, as they arrive, into requests for a loop,
// which cannot block in the middle of one. It runs the streaming parser
// over what has arrived; when that runs out mid-request the attempt is
// dropped and made again from the request's start after the next read.
// The data block of a rejected storage request is skipped as it arrives
// (it may be far larger than the buffer may grow), as memcached does.
type inbox struct {
	in  []byte // arrived, not yet consumed
	off int    // consumed so far in this batch
	src sliceSource
	br  *bufio.Reader
	rr  *protocol.RequestReader
	req protocol.Request

	// When the last attempt ran out of input: the request needs this many
	// bytes from off (0: unknown), or a line end after this many.
	needLen, scanned int

	skip                int             // bytes of a rejected request's data left to skip
	skipped             *protocol.Error // that request's error, returned once skipped
	tail                [2]byte         // the last two bytes skipped
	maxLine, maxGetLine int             // the longest lines the parser takes
	attempts            int             // parses started, for tests
}

func newInbox(lim protocol.Limits) *inbox {
	l := lim.WithDefaults()
	ib := &inbox{maxLine: l.MaxLine, maxGetLine: l.MaxGetLine}
	ib.br = bufio.NewReaderSize(&ib.src, 4096)
	ib.rr = protocol.NewRequestReader(ib.br, lim)
	ib.rr.DeferSwallow = true
	return ib
}

// sliceSource is the parser's input: what has arrived and is not consumed.
type sliceSource struct {
	b   []byte
	pos int
}

func (s *sliceSource) Read(p []byte) (int, error) {
	if s.pos == len(s.b) {
		return 0, errNeedMore
	}
	n := copy(p, s.b[s.pos:])
	s.pos += n
	return n, nil
}

// next returns the next whole request (valid until the next call), or the
// error of a rejected one, or errNeedMore when what has arrived ends
// inside a request.
func (ib *inbox) next() (*protocol.Request, *protocol.Error, error) {
	for {
		if ib.off == len(ib.in) {
			return nil, nil, errNeedMore
		}
		if ib.skip > 0 {
			n := min(ib.skip, len(ib.in)-ib.off)
			ib.skipTail(ib.in[ib.off : ib.off+n])
			ib.off += n
			if ib.skip -= n; ib.skip > 0 {
				return nil, nil, errNeedMore
			}
			e := ib.skipped
			ib.skipped = nil
			e.Swallowed(ib.tail)
			return nil, e, nil
		}
		if !ib.worthTrying() {
			return nil, nil, errNeedMore
		}
		ib.attempts++
		ib.src = sliceSource{b: ib.in[ib.off:]}
		ib.br.Reset(&ib.src)
		err := ib.rr.Read(&ib.req)
		if errors.Is(err, errNeedMore) {
			ib.needLen, ib.scanned = ib.rr.Need(), len(ib.in)-ib.off
			return nil, nil, err
		}
		ib.needLen, ib.scanned = 0, 0
		ib.off += ib.src.pos - ib.br.Buffered()
		perr, rejected := errors.AsType[*protocol.Error](err)
		switch {
		case rejected && perr.Skip > 0:
			e := *perr
			e.Invalidate = bytes.Clone(e.Invalidate) // aliases the reader's buffer
			ib.skipped, ib.skip = &e, e.Skip
		case rejected:
			return nil, perr, nil
		case err != nil:
			return nil, nil, err
		default:
			return &ib.req, nil, nil
		}
	}
}

// worthTrying reports whether what arrived since the last attempt can
// complete the request: parsing it again at every packet of a value that
// trickles in would cost time quadratic in its size.
func (ib *inbox) worthTrying() bool {
	avail := len(ib.in) - ib.off
	switch {
	case ib.needLen > 0:
		return avail >= ib.needLen
	case ib.scanned > 0:
		// Waiting for the end of the command line, or for enough of it
		// for the parser to reject it as too long.
		crossed := func(limit int) bool { return ib.scanned <= limit && avail > limit }
		return bytes.IndexByte(ib.in[ib.off+ib.scanned:], '\n') >= 0 || crossed(ib.maxLine) || crossed(ib.maxGetLine)
	}
	return true
}

func (ib *inbox) skipTail(b []byte) {
	switch len(b) {
	case 0:
	case 1:
		ib.tail = [2]byte{ib.tail[1], b[0]}
	default:
		ib.tail = [2]byte{b[len(b)-2], b[len(b)-1]}
	}
}

// compact drops what was consumed, and a large idle buffer.
func (ib *inbox) compact() {
	rest := copy(ib.in, ib.in[ib.off:])
	ib.in, ib.off = ib.in[:rest], 0
	if rest == 0 && cap(ib.in) > keepBuffer {
		ib.in = nil
	}
}

// space returns room for the next read, growing the buffer up to max; nil
// when a single request already fills max.
func (ib *inbox) space(max int) []byte {
	if len(ib.in) == cap(ib.in) {
		if cap(ib.in) >= max {
			return nil
		}
		n := make([]byte, len(ib.in), min(2*cap(ib.in)+readChunk, max))
		copy(n, ib.in)
		ib.in = n
	}
	return ib.in[len(ib.in):cap(ib.in)]
}

// add records n bytes read into space's slice.
func (ib *inbox) add(n int) { ib.in = ib.in[:len(ib.in)+n] }
