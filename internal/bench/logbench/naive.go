package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"
)

// naiveEnv set in a process's environment makes logbench the reference
// shipper instead of the bench: logbench starts it as a child of its own
// binary, so that its CPU, RSS and kill -9 are measured as podkit's are.
const naiveEnv = "LOGBENCH_NAIVE_SHIPPER"

// naiveMain is the reference of issue 6's figures: the ~200-line tail→HTTP
// shipper most people would write. It polls one file, follows rename
// (reading the old file to its end first) and truncation (back to offset
// 0), POSTs complete lines as NDJSON records in batches of up to 1 MiB and
// retries a failed POST until it succeeds. It keeps no checkpoint: started
// with -start end (every restart) it begins at the file's end, as tail -F
// does. It exits 0 on SIGTERM without draining.
func naiveMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("logbench (reference shipper)", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "", "file to tail")
	url := fs.String("url", "", "http:// URL to POST NDJSON batches to")
	start := fs.String("start", "beginning", "beginning or end: where the file is first read")
	poll := fs.Duration("poll", 50*time.Millisecond, "poll interval at end of file")
	batch := fs.Int("batch-bytes", 1<<20, "most bytes of lines per POST")
	if err := fs.Parse(args); err != nil || *path == "" || *url == "" || (*start != "beginning" && *start != "end") {
		fmt.Fprintln(stderr, "reference shipper: want -path FILE -url URL [-start beginning|end]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	s := &naive{path: *path, url: *url, poll: *poll, buf: make([]byte, *batch),
		client: &http.Client{Timeout: 10 * time.Second}}
	if err := s.run(ctx, *start == "end"); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "reference shipper:", err)
		return 1
	}
	return 0
}

type naive struct {
	path   string
	url    string
	poll   time.Duration
	client *http.Client
	buf    []byte // one read: at most a batch of lines
	body   []byte // the NDJSON of one batch

	f   *os.File
	ino uint64
	off int64
}

func (s *naive) run(ctx context.Context, atEnd bool) error {
	for s.f == nil {
		if err := s.open(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if s.f == nil && !s.sleep(ctx) {
			return nil
		}
	}
	if atEnd {
		st, err := s.f.Stat()
		if err != nil {
			return err
		}
		s.off = st.Size()
	}
	for ctx.Err() == nil {
		n, err := s.ship(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		// At the end: has the file been renamed away, or truncated?
		st, err := os.Stat(s.path)
		switch {
		case err != nil:
			// Gone for now (between rename and create): wait.
		case st.Sys().(*syscall.Stat_t).Ino != s.ino:
			// Renamed: finish the old file, then take the new one.
			for {
				n, err := s.ship(ctx)
				if err != nil {
					return err
				}
				if n == 0 || ctx.Err() != nil {
					break
				}
			}
			s.f.Close()
			s.f = nil
			if err := s.open(); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if s.f != nil {
				continue
			}
		case st.Size() < s.off:
			s.off = 0 // truncated (copytruncate)
			continue
		}
		if !s.sleep(ctx) {
			return nil
		}
		for s.f == nil {
			if err := s.open(); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if s.f == nil && !s.sleep(ctx) {
				return nil
			}
		}
	}
	return nil
}

func (s *naive) open() error {
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.ino, s.off = f, st.Sys().(*syscall.Stat_t).Ino, 0
	return nil
}

func (s *naive) sleep(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(s.poll):
		return true
	}
}

// ship reads complete lines at the offset and POSTs them; it returns the
// bytes shipped, 0 at the end of the file.
func (s *naive) ship(ctx context.Context) (int, error) {
	n, err := s.f.ReadAt(s.buf, s.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	end := bytes.LastIndexByte(s.buf[:n], '\n') + 1
	if end == 0 {
		return 0, nil
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	s.body = s.body[:0]
	off := s.off
	for line := range bytes.Lines(s.buf[:end]) {
		s.body = append(s.body, `{"line":`...)
		s.body = appendJSONString(s.body, line[:len(line)-1])
		s.body = append(s.body, `,"file":`...)
		s.body = appendJSONString(s.body, []byte(s.path))
		s.body = append(s.body, `,"offset":`...)
		s.body = strconv.AppendInt(s.body, off, 10)
		s.body = append(s.body, `,"time":"`...)
		s.body = append(s.body, now...)
		s.body = append(s.body, "\"}\n"...)
		off += int64(len(line))
	}
	// Retry until it is taken: a down sink stalls reading, nothing else.
	for {
		if err := s.post(ctx); err == nil {
			break
		}
		if !s.sleep(ctx) {
			return 0, nil
		}
	}
	s.off += int64(end)
	return end, nil
}

func (s *naive) post(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST: %s", resp.Status)
	}
	return nil
}

// appendJSONString appends b as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return append(dst, '"')
}
