package protocol

import (
	"bufio"
	"strings"
	"testing"
)

// loopReader serves the same bytes forever, so a benchmark parses from a
// bufio.Reader as the proxy does, without I/O.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

var value100 = strings.Repeat("v", 100)

var benchRequests = []struct{ name, in string }{
	{"get", "get user:0000012345\r\n"},
	{"set100", "set user:0000012345 0 3600 100\r\n" + value100 + "\r\n"},
	{"multiget10", "get" + manyKeys("user:00000123", 10) + "\r\n"},
	{"multiget100", "get" + manyKeys("user:00000123", 100) + "\r\n"},
	{"mg", "mg user:0000012345 v f t\r\n"},
	{"ms100", "ms user:0000012345 100 T3600 F0\r\n" + value100 + "\r\n"},
}

func BenchmarkReadRequest(b *testing.B) {
	for _, bb := range benchRequests {
		b.Run(bb.name, func(b *testing.B) {
			rr := NewRequestReader(bufio.NewReaderSize(&loopReader{b: []byte(bb.in)}, 16<<10), Limits{})
			var r Request
			b.SetBytes(int64(len(bb.in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := rr.Read(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var benchResponses = []struct{ name, in string }{
	{"stored", "STORED\r\n"},
	{"value100", "VALUE user:0000012345 0 100\r\n" + value100 + "\r\n"},
	{"va100", "VA 100 f0 t3600\r\n" + value100 + "\r\n"},
}

func BenchmarkReadResponse(b *testing.B) {
	for _, bb := range benchResponses {
		b.Run(bb.name, func(b *testing.B) {
			rr := NewResponseReader(bufio.NewReaderSize(&loopReader{b: []byte(bb.in)}, 16<<10), Limits{})
			var r Response
			b.SetBytes(int64(len(bb.in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := rr.Read(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	parse := func(in string) *Request {
		var r Request
		if err := NewRequestReader(bufio.NewReader(strings.NewReader(in)), Limits{}).Read(&r); err != nil {
			b.Fatal(err)
		}
		return &r
	}
	set, get := parse(benchRequests[1].in), parse(benchRequests[2].in)
	buf := make([]byte, 0, 4096)
	b.Run("request_set100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendRequest(buf[:0], set, true)
		}
	})
	b.Run("get_5of10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendGet(buf[:0], CmdGet, 0, get.Keys[:5])
		}
	})
}
