package memcacheproxy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// drain takes every outcome the inbox can give now, as text; stop is set
// when one would close the client.
func drain(t testing.TB, ib *inbox, out []string) ([]string, bool) {
	for {
		req, perr, err := ib.next()
		switch {
		case errors.Is(err, errNeedMore):
			ib.compact()
			return out, false
		case err != nil:
			t.Fatalf("inbox: %v", err)
		case perr != nil:
			out = append(out, fmt.Sprintf("reject %s %q close=%v invalidate=%q", perr.Reason, perr.Reply, perr.Close, perr.Invalidate))
			if perr.Close {
				return out, true
			}
		default:
			out = append(out, fmt.Sprintf("%s %q %q", req.Command, req.Keys, req.Data))
		}
	}
}

// feed gives data to a fresh inbox in pieces of at most chunk bytes.
func feed(t testing.TB, data []byte, chunk int) []string {
	ib := newInbox(protocol.Limits{MaxItemSize: 1 << 10, MaxLine: 512, MaxGetLine: 2048})
	var out []string
	for len(data) > 0 {
		buf := ib.space(1 << 14)
		if buf == nil {
			return append(out, "over the buffer bound")
		}
		n := copy(buf, data[:min(chunk, len(data))])
		ib.add(n)
		data = data[n:]
		var stop bool
		if out, stop = drain(t, ib, out); stop {
			break
		}
	}
	return out
}

// However the bytes arrive, the inbox sees the same requests as when they
// arrive at once.
func FuzzInbox(f *testing.F) {
	for _, s := range []string{
		"get a b c\r\nset k 0 0 5\r\nhello\r\nmn\r\n",
		"set big 0 0 1500\r\n" + strings.Repeat("x", 1500) + "\r\nget big\r\n",
		"set k 0 0 300\r\n" + strings.Repeat("y", 300) + "\r\nget k\r\n",
		"set k 0 0 3\r\nabcd\r\nget k\r\n",
		"ms k 2 T0\r\nhi\r\nmg k v\r\n",
		"set a abc 0 1\r\nx\r\nget a\r\n",
		"get " + strings.Repeat("k ", 600) + "\r\nversion\r\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		if len(data) > 1<<12 {
			return
		}
		whole := feed(t, data, len(data)+1)
		pieces := feed(t, data, int(chunk)+1)
		if !slices.Equal(whole, pieces) {
			t.Fatalf("in pieces of %d:\n%q\nat once:\n%q", int(chunk)+1, pieces, whole)
		}
	})
}

func TestInboxSkipsLargeValueInPieces(t *testing.T) {
	data := []byte("set big 0 0 5000\r\n" + strings.Repeat("x", 5000) + "\r\nget k\r\n")
	got := feed(t, data, 100)
	want := []string{
		`reject too_large "SERVER_ERROR object too large for cache\r\n" close=false invalidate="big"`,
		`get ["k"] ""`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A value that trickles in a byte at a time is parsed a few times, not
// once per byte (which would be quadratic in its size).
func TestInboxTrickle(t *testing.T) {
	ib := newInbox(protocol.Limits{})
	data := []byte("set k 0 0 100000\r\n" + strings.Repeat("z", 100000) + "\r\n")
	var out []string
	for _, b := range data {
		ib.space(1 << 20)[0] = b
		ib.add(1)
		out, _ = drain(t, ib, out)
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], `set ["k"]`) {
		t.Fatalf("got %.80q", out)
	}
	if ib.attempts > 10 {
		t.Fatalf("%d parse attempts for one request", ib.attempts)
	}
}
