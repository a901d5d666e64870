package protocol

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// resp is the part of a Response a test compares.
type resp struct {
	Status Status
	Line   string
	Key    string
	Flags  uint32
	Cas    uint64
	HasCas bool
	Number uint64
	Data   string
}

func respSummary(r *Response) resp {
	return resp{Status: r.Status, Line: string(r.Line()), Key: string(r.Key), Flags: r.Flags, Cas: r.Cas,
		HasCas: r.HasCas, Number: r.Number, Data: string(r.Data)}
}

// responseTests are real memcached 1.6.18 responses (and broken ones).
var responseTests = []struct {
	in   string
	want resp
	bad  bool // ErrBadResponse
}{
	{in: "VALUE a 5 3\r\nabc\r\n", want: resp{Status: StatusValue, Line: "VALUE a 5 3", Key: "a", Flags: 5, Data: "abc"}},
	{in: "VALUE a 0 0\r\n\r\n", want: resp{Status: StatusValue, Line: "VALUE a 0 0", Key: "a"}},
	{in: "VALUE a 4294967295 2 18446744073709551615\r\n\r\n\r\n", want: resp{Status: StatusValue, Line: "VALUE a 4294967295 2 18446744073709551615",
		Key: "a", Flags: 1<<32 - 1, Cas: 1<<64 - 1, HasCas: true, Data: "\r\n"}},
	{in: "VALUE a\tb 0 1\r\nx\r\n", want: resp{Status: StatusValue, Line: "VALUE a\tb 0 1", Key: "a\tb", Data: "x"}},
	{in: "END\r\n", want: resp{Status: StatusEnd, Line: "END"}},
	{in: "STORED\r\n", want: resp{Status: StatusStored, Line: "STORED"}},
	{in: "NOT_STORED\r\n", want: resp{Status: StatusNotStored, Line: "NOT_STORED"}},
	{in: "EXISTS\r\n", want: resp{Status: StatusExists, Line: "EXISTS"}},
	{in: "NOT_FOUND\r\n", want: resp{Status: StatusNotFound, Line: "NOT_FOUND"}},
	{in: "DELETED\r\n", want: resp{Status: StatusDeleted, Line: "DELETED"}},
	{in: "TOUCHED\r\n", want: resp{Status: StatusTouched, Line: "TOUCHED"}},
	{in: "OK\r\n", want: resp{Status: StatusOK, Line: "OK"}},
	{in: "RESET\r\n", want: resp{Status: StatusReset, Line: "RESET"}},
	{in: "0\r\n", want: resp{Status: StatusNumber, Line: "0"}},
	{in: "18446744073709551615\r\n", want: resp{Status: StatusNumber, Line: "18446744073709551615", Number: 1<<64 - 1}},
	{in: "VERSION 1.6.18\r\n", want: resp{Status: StatusVersion, Line: "VERSION 1.6.18"}},
	{in: "STAT pid 10682\r\n", want: resp{Status: StatusStat, Line: "STAT pid 10682"}},
	{in: "ERROR\r\n", want: resp{Status: StatusError, Line: "ERROR"}},
	{in: "ERROR: shutdown not enabled\r\n", want: resp{Status: StatusError, Line: "ERROR: shutdown not enabled"}},
	{in: "CLIENT_ERROR bad data chunk\r\n", want: resp{Status: StatusClientError, Line: "CLIENT_ERROR bad data chunk"}},
	{in: "SERVER_ERROR object too large for cache\r\n", want: resp{Status: StatusServerError, Line: "SERVER_ERROR object too large for cache"}},
	{in: "VA 1 f5 t-1 c23 ka s1 O123\r\nx\r\n", want: resp{Status: StatusMetaValue, Line: "VA 1 f5 t-1 c23 ka s1 O123", Data: "x"}},
	{in: "VA 0\r\n\r\n", want: resp{Status: StatusMetaValue, Line: "VA 0"}},
	{in: "HD\r\n", want: resp{Status: StatusMetaHD, Line: "HD"}},
	{in: "HD c31\r\n", want: resp{Status: StatusMetaHD, Line: "HD c31"}},
	{in: "EN\r\n", want: resp{Status: StatusMetaEN, Line: "EN"}},
	{in: "EN ka O1\r\n", want: resp{Status: StatusMetaEN, Line: "EN ka O1"}},
	{in: "NF\r\n", want: resp{Status: StatusMetaNF, Line: "NF"}},
	{in: "NS\r\n", want: resp{Status: StatusMetaNS, Line: "NS"}},
	{in: "EX\r\n", want: resp{Status: StatusMetaEX, Line: "EX"}},
	{in: "MN\r\n", want: resp{Status: StatusMetaNoop, Line: "MN"}},
	{in: "ME a exp=-1 la=1 cas=33 fetch=yes cls=1 size=61\r\n", want: resp{Status: StatusMetaDebug, Line: "ME a exp=-1 la=1 cas=33 fetch=yes cls=1 size=61"}},

	{in: "\r\n", bad: true},
	{in: "END\n", bad: true},
	{in: "END \r\n", bad: true},
	{in: "end\r\n", bad: true},
	{in: "ENDX\r\n", bad: true},
	{in: "HDX\r\n", bad: true},
	{in: "VERSION\r\n", bad: true},
	{in: "ME\r\n", bad: true},
	{in: "12a\r\n", bad: true},
	{in: "18446744073709551616\r\n", bad: true},
	{in: "VALUE a 0\r\n", bad: true},
	{in: "VALUE  a 0 1\r\nx\r\n", bad: true},
	{in: "VALUE a 0 1 2 3\r\nx\r\n", bad: true},
	{in: "VALUE a -1 1\r\nx\r\n", bad: true},
	{in: "VALUE a 4294967296 1\r\nx\r\n", bad: true},
	{in: "VALUE a 0 x\r\nx\r\n", bad: true},
	{in: "VALUE a 0 1 x\r\nx\r\n", bad: true},
	{in: "VALUE a 0 1\r\nxy\r\n", bad: true},
	{in: "VALUE a 0 9\r\n123456789\r\n", bad: true}, // over MaxItemSize 8
	{in: "VA\r\n", bad: true},
	{in: "VA x\r\n", bad: true},
	{in: "VA 1\r\nx\n", bad: true},
	{in: strings.Repeat("S", 3000) + "\r\n", bad: true},
}

func TestReadResponse(t *testing.T) {
	for _, tt := range responseTests {
		for _, size := range []int{16, 4096} {
			rr := NewResponseReader(bufio.NewReaderSize(strings.NewReader(tt.in+"MN\r\n"), size), Limits{MaxItemSize: 8})
			var r Response
			err := rr.Read(&r)
			if tt.bad {
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("Read(%.40q) = %v %+v, want ErrBadResponse", tt.in, err, respSummary(&r))
				}
				continue
			}
			if err != nil {
				t.Fatalf("Read(%q) = %v", tt.in, err)
			}
			if got := respSummary(&r); got != tt.want {
				t.Fatalf("Read(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got := string(AppendResponse(nil, &r)); got != tt.in {
				t.Fatalf("AppendResponse(Read(%q)) = %q", tt.in, got)
			}
			if err := rr.Read(&r); err != nil || r.Status != StatusMetaNoop {
				t.Fatalf("after %q: next Read = %v %v, want MN", tt.in, r.Status, err)
			}
			if err := rr.Read(&r); err != io.EOF {
				t.Fatalf("after %q: Read at end = %v, want io.EOF", tt.in, err)
			}
		}
	}
}

func TestReadResponseEOF(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", io.EOF},
		{"END", io.ErrUnexpectedEOF},
		{"END\r", io.ErrUnexpectedEOF},
		{"VALUE a 0 3\r\nab", io.ErrUnexpectedEOF},
		{"VALUE a 0 3\r\n", io.ErrUnexpectedEOF},
	} {
		rr := NewResponseReader(bufio.NewReader(strings.NewReader(tt.in)), Limits{})
		var r Response
		if err := rr.Read(&r); err != tt.want {
			t.Errorf("Read(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestResponseEnds(t *testing.T) {
	st := func(s Status) *Response { return &Response{Status: s} }
	for _, tt := range []struct {
		cmd      Command
		r        *Response
		done, ok bool
	}{
		{CmdGet, st(StatusValue), false, true},
		{CmdGets, st(StatusEnd), true, true},
		{CmdGat, st(StatusServerError), true, true},
		{CmdGet, st(StatusStored), true, false},
		{CmdSet, st(StatusStored), true, true},
		{CmdCas, st(StatusExists), true, true},
		{CmdAdd, st(StatusNotStored), true, true},
		{CmdSet, st(StatusValue), true, false},
		{CmdSet, st(StatusClientError), true, true},
		{CmdDelete, st(StatusDeleted), true, true},
		{CmdDelete, st(StatusStored), true, false},
		{CmdIncr, st(StatusNumber), true, true},
		{CmdDecr, st(StatusNotFound), true, true},
		{CmdTouch, st(StatusTouched), true, true},
		{CmdMetaGet, st(StatusMetaValue), true, true},
		{CmdMetaGet, st(StatusMetaEN), true, true},
		{CmdMetaGet, st(StatusValue), true, false},
		{CmdMetaSet, st(StatusMetaNS), true, true},
		{CmdMetaDelete, st(StatusMetaEX), true, true},
		{CmdMetaArithmetic, st(StatusMetaValue), true, true},
		{CmdMetaDebug, st(StatusMetaDebug), true, true},
		{CmdMetaNoop, st(StatusMetaNoop), true, true},
		{CmdMetaNoop, st(StatusMetaHD), true, false},
		{CmdVersion, st(StatusVersion), true, true},
		{CmdFlushAll, st(StatusOK), true, true},
		{CmdStats, st(StatusStat), false, true},
		{CmdStats, st(StatusEnd), true, true},
		{CmdQuit, st(StatusEnd), true, false},
		{CmdUnknown, st(StatusError), true, true},
	} {
		if done, ok := tt.r.Ends(tt.cmd); done != tt.done || ok != tt.ok {
			t.Errorf("%s.Ends(%s) = %v, %v; want %v, %v", tt.r.Status, tt.cmd, done, ok, tt.done, tt.ok)
		}
	}
}
