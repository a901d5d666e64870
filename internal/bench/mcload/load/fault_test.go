package load

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is how the fake server answers a get when it misbehaves.
type fault int

const (
	faultNone       fault = iota
	faultOtherKey         // another key's intact value (and flags) under the key asked for
	faultTruncate         // the value cut short, the length line saying so
	faultFlip             // one bit of the value changed
	faultFlags            // the flags changed
	faultStale            // the first value ever stored, not the newest
	faultExtraKey         // an extra VALUE for a key not asked for
	faultGarbage          // a line that is no reply at all instead of END
	faultShortBlock       // fewer data bytes than the length line says
)

type item struct {
	flags uint64
	data  []byte
}

// fakeServer is a tiny memcached (get and set only) that can misbehave on
// every every-th value it returns, up to limit times.
type fakeServer struct {
	t     *testing.T
	ln    net.Listener
	fault fault
	every int64
	limit int64 // faults at most this many times; 0: no limit
	hits  atomic.Int64
	fired atomic.Int64

	mu    sync.Mutex
	items map[string]item
	first map[string]item
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startFake(t *testing.T, f fault, every, limit int64) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, fault: f, every: every, limit: limit,
		items: map[string]item{}, first: map[string]item{}, conns: map[net.Conn]bool{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) serve(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		f := bytes.Fields(line)
		switch {
		case len(f) >= 2 && string(f[0]) == "get":
			for _, k := range f[1:] {
				s.value(w, string(k))
			}
			if s.fault == faultGarbage && s.hits.Load()%s.every == 0 && s.fire() {
				w.WriteString("HELLO\r\n")
			} else {
				w.WriteString("END\r\n")
			}
		case len(f) == 5 && string(f[0]) == "set":
			flags, _ := strconv.ParseUint(string(f[2]), 10, 32)
			n, _ := strconv.Atoi(string(f[4]))
			data := make([]byte, n+2)
			if _, err := io.ReadFull(r, data); err != nil {
				return
			}
			it := item{flags, data[:n]}
			s.mu.Lock()
			s.items[string(f[1])] = it
			if _, ok := s.first[string(f[1])]; !ok {
				s.first[string(f[1])] = it
			}
			s.mu.Unlock()
			w.WriteString("STORED\r\n")
		default:
			w.WriteString("ERROR\r\n")
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func (s *fakeServer) fire() bool {
	return s.fault != faultNone && (s.limit == 0 || s.fired.Add(1) <= s.limit)
}

func (s *fakeServer) value(w *bufio.Writer, key string) {
	s.mu.Lock()
	it, ok := s.items[key]
	var other string
	var otherIt item
	for k, v := range s.items { // any other key
		if k != key {
			other, otherIt = k, v
			break
		}
	}
	first := s.first[key]
	s.mu.Unlock()
	if !ok {
		return
	}
	data, flags := it.data, it.flags
	if s.hits.Add(1)%s.every == 0 && s.fault != faultGarbage && s.fire() {
		switch s.fault {
		case faultOtherKey:
			if other != "" {
				data, flags = otherIt.data, otherIt.flags
			}
		case faultTruncate:
			data = data[:len(data)-10]
		case faultFlip:
			data = bytes.Clone(data)
			data[len(data)/2] ^= 1
		case faultFlags:
			flags++
		case faultStale:
			data, flags = first.data, first.flags
		case faultExtraKey:
			if other != "" {
				fmt.Fprintf(w, "VALUE %s %d %d\r\n%s\r\n", other, otherIt.flags, len(otherIt.data), otherIt.data)
			}
		case faultShortBlock:
			fmt.Fprintf(w, "VALUE %s %d %d\r\n%s\r\n", key, flags, len(data), data[:len(data)-10])
			return
		}
	}
	fmt.Fprintf(w, "VALUE %s %d %d\r\n%s\r\n", key, flags, len(data), data)
}

// Each way a server (or a proxy) can get a response wrong is caught, counted
// under its kind, and fails the run; a correct server passes.
func TestVerificationCatchesWrongServers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fault
		every int64
		limit int64
		kind  func(Errors) int64 // the count that must be > 0
	}{
		{"correct", faultNone, 1, 0, nil},
		{"another key's value", faultOtherKey, 7, 0, func(e Errors) int64 { return e.WrongKey }},
		{"truncated value", faultTruncate, 7, 0, func(e Errors) int64 { return e.Checksum }},
		{"one bit flipped", faultFlip, 7, 0, func(e Errors) int64 { return e.Checksum }},
		{"flags changed", faultFlags, 7, 0, func(e Errors) int64 { return e.Flags }},
		{"stale value", faultStale, 1, 0, func(e Errors) int64 { return e.Stale }},
		{"key not asked for", faultExtraKey, 7, 0, func(e Errors) int64 { return e.UnexpectedKey }},
		{"garbage reply", faultGarbage, 50, 3, func(e Errors) int64 { return e.Protocol }},
		{"data block shorter than its length", faultShortBlock, 50, 3, func(e Errors) int64 { return e.Protocol + e.Timeout }},
	} {
		for _, depth := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/pipeline %d", tc.name, depth), func(t *testing.T) {
				s := startFake(t, tc.fault, tc.every, tc.limit)
				cfg := Config{
					Addrs: []string{s.addr()}, Conns: 2, Keys: 200, Multiget: 5, Pipeline: depth,
					GetWeight: 3, SetWeight: 1, Ops: 2000, Warmup: true,
				}
				if tc.fault == faultShortBlock {
					cfg.Timeout = 300 * time.Millisecond // serially, the missing bytes never come
				}
				res, err := Run(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkErr := res.Check(0)
				if tc.kind == nil {
					if checkErr != nil {
						t.Fatalf("correct server: %v\n%q", checkErr, res.ErrorSamples)
					}
					return
				}
				if checkErr == nil {
					t.Fatalf("Check passed a misbehaving server: %+v", res.Errors)
				}
				if tc.kind(res.Errors) == 0 {
					t.Errorf("not counted under its kind: %s\n%q", res.Errors, res.ErrorSamples)
				}
				t.Logf("%s\n%s", res.Errors, strings.Join(res.ErrorSamples, "\n"))
				if len(res.ErrorSamples) == 0 {
					t.Error("no error described")
				}
			})
		}
	}
}
