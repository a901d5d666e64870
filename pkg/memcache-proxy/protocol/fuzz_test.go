package protocol

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// fuzzLimits are small, so that fuzzing reaches every limit.
var fuzzLimits = Limits{MaxItemSize: 64, MaxLine: 512, MaxGetLine: 1024, MaxKeys: 8}

func FuzzRequest(f *testing.F) {
	for _, tt := range requestTests {
		f.Add([]byte(tt.in+"mn\r\n"), uint8(0))
	}
	for _, tt := range memcachedTests {
		if len(tt.in) < 4096 {
			f.Add([]byte(tt.in), uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, knobs uint8) {
		lim := fuzzLimits
		lim.StrictKeys = knobs&1 != 0
		rr := NewRequestReader(bufio.NewReaderSize(bytes.NewReader(in), 16+int(knobs>>1)), lim)
		var r Request
		for {
			err := rr.Read(&r)
			var perr *Error
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return
			case errors.As(err, &perr):
				if perr.Reply != "" && (!strings.HasSuffix(perr.Reply, "\r\n") || strings.Count(perr.Reply, "\n") != 1) {
					t.Fatalf("reply %q is not one line", perr.Reply)
				}
				if perr.Reply == "" && perr.Reason != ReasonHTTP && perr.Close {
					t.Fatalf("closing without a reply: %+v", perr)
				}
				if perr.Close {
					return
				}
				continue
			case err != nil:
				t.Fatalf("Read: %v", err)
			}
			checkBounds(t, &r, lim)
			checkRoundTrip(t, &r, lim)
		}
	})
}

func checkBounds(t *testing.T, r *Request, lim Limits) {
	t.Helper()
	if len(r.line) >= lim.MaxGetLine || (!r.Command.IsRetrieval() && len(r.line) >= lim.MaxLine) {
		t.Fatalf("%s line of %d bytes accepted", r.Command, len(r.line))
	}
	if len(r.Data) > lim.MaxItemSize || cap(r.data) > lim.MaxItemSize+2 {
		t.Fatalf("data of %d bytes (buffer %d) accepted", len(r.Data), cap(r.data))
	}
	if len(r.Keys) > lim.MaxKeys {
		t.Fatalf("%d keys accepted", len(r.Keys))
	}
	for _, k := range r.Keys {
		if len(k) == 0 || len(k) > MaxKeyLength {
			t.Fatalf("key %q accepted", k)
		}
	}
	if r.Command.Keyed() && len(r.Keys) != 1 || r.Command.Local() && len(r.Keys) != 0 {
		t.Fatalf("%s with %d keys", r.Command, len(r.Keys))
	}
}

// checkRoundTrip: what AppendRequest and AppendGet write parses back to the
// same request.
func checkRoundTrip(t *testing.T, r *Request, lim Limits) {
	t.Helper()
	want := summary(r)
	reparse := func(b []byte) req {
		t.Helper()
		var r2 Request
		if err := NewRequestReader(bufio.NewReaderSize(bytes.NewReader(b), 64), lim).Read(&r2); err != nil {
			t.Fatalf("%s: reparse %q: %v", r.Command, b, err)
		}
		return summary(&r2)
	}
	if got := reparse(AppendRequest(nil, r, false)); !got.equal(want) {
		t.Fatalf("round trip of %q: %+v, want %+v", r.line, got, want)
	}
	if r.strip >= 0 {
		stripped := r.tokens[r.strip]
		want.NoReply, want.Quiet = false, false
		if i := slices.IndexFunc(r.Args, func(a []byte) bool { return &a[0] == &stripped[0] }); i >= 0 {
			want.Args = slices.Delete(slices.Clone(want.Args), i, i+1)
			if len(want.Args) == 0 {
				want.Args = nil
			}
		}
	}
	if got := reparse(AppendRequest(nil, r, true)); !got.equal(want) {
		t.Fatalf("round trip with reply of %q: %+v, want %+v", r.line, got, want)
	}
	if r.Command.IsRetrieval() && len(r.Keys) > 0 {
		want := summary(r)
		for keys := r.Keys; len(keys) > 0; {
			n := FitKeys(r.Command, r.Exptime, keys, 64)
			got := reparse(AppendGet(nil, r.Command, r.Exptime, keys[:n]))
			if !slices.Equal(got.Keys, want.Keys[:n]) || got.Cmd != want.Cmd || got.Exptime != want.Exptime {
				t.Fatalf("AppendGet round trip of %q: %+v", r.line, got)
			}
			keys, want.Keys = keys[n:], want.Keys[n:]
		}
	}
}

func FuzzResponse(f *testing.F) {
	var all []byte
	for _, tt := range responseTests {
		f.Add([]byte(tt.in), uint8(0))
		all = append(all, tt.in...)
	}
	f.Add(all, uint8(7))
	f.Add([]byte("VALUE a 0 1\r\nx\r\nVALUE b 3 2 9\r\nyz\r\nEND\r\nSTORED\r\n7\r\nVA 2 kx O1\r\nab\r\nEN\r\nMN\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		lim := Limits{MaxItemSize: 64, MaxLine: 512}
		rr := NewResponseReader(bufio.NewReaderSize(bytes.NewReader(in), 16+int(size)), lim)
		var r Response
		var consumed []byte
		for {
			err := rr.Read(&r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrBadResponse) {
					t.Fatalf("Read: %v", err)
				}
				return
			}
			if len(r.Data) > lim.MaxItemSize || len(r.line) > lim.MaxLine-2 {
				t.Fatalf("%s accepted: line %d bytes, data %d bytes", r.Status, len(r.line), len(r.Data))
			}
			for c := CmdUnknown; c < numCommands; c++ {
				r.Ends(c)
				r.HiddenByQuiet(c)
			}
			// The parser frames exactly: re-emitting what it read gives back
			// the input, byte for byte.
			consumed = AppendResponse(consumed, &r)
			if !bytes.HasPrefix(in, consumed) {
				t.Fatalf("re-emitted %q, input %q", consumed, in)
			}
		}
	})
}

// FuzzMetaKey: the memcached-compatible base64 decoder agrees with the
// standard one on everything the standard one accepts.
func FuzzMetaKey(f *testing.F) {
	for _, s := range []string{"YWJj", "YQ==", "YQ", "YQ==YQ==", "====", "Y Q==", "Y\tQ==", "YWI=", "/+/+"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, ok := decodeMetaKey(nil, src)
		if ok && (len(got) == 0 || len(got) > len(src)) {
			t.Fatalf("decodeMetaKey(%q) = %q", src, got)
		}
		want, err := base64.StdEncoding.DecodeString(string(src))
		if err == nil && len(want) > 0 && (!ok || !bytes.Equal(got, want)) {
			t.Fatalf("decodeMetaKey(%q) = %q, %v; encoding/base64: %q", src, got, ok, want)
		}
	})
}
