package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/podkit/podkit/internal/logtest"
)

// source is the writer's file name, the src= of every line.
const source = "app.log"

// sinks are where one run's shipper delivers: an HTTP receiver on a
// loopback listener in this process, and for podkit a file sink directory.
type sinks struct {
	rc      *logtest.Receiver // nil: no http sink
	srv     *httptest.Server
	fileDir string // "": no file sink
	files   *fileCounter
}

func newSinks(withHTTP bool, fileDir string) *sinks {
	s := &sinks{fileDir: fileDir}
	if withHTTP {
		s.rc = logtest.NewReceiver()
		s.rc.Fast = true
		s.srv = httptest.NewServer(s.rc)
	}
	if fileDir != "" {
		s.files = &fileCounter{dir: fileDir, seen: map[uint64]int64{}}
	}
	return s
}

// urls are the --sink values.
func (s *sinks) urls() []string {
	var u []string
	if s.rc != nil {
		u = append(u, s.srv.URL+"/ingest")
	}
	if s.fileDir != "" {
		u = append(u, "file://"+s.fileDir)
	}
	return u
}

func (s *sinks) close() {
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

// least is what the slowest sink has so far: distinct lines at the http
// sink, complete records in the file sink's files (duplicates included).
func (s *sinks) least() int64 {
	n := int64(-1)
	if s.rc != nil {
		n = int64(s.rc.Tally.Count(source))
	}
	if s.files != nil {
		if f := s.files.poll(); n < 0 || f < n {
			n = f
		}
	}
	return max(n, 0)
}

// httpCount is the distinct lines the http sink has.
func (s *sinks) httpCount() int64 { return int64(s.rc.Tally.Count(source)) }

// sinkResult is one sink's final count of one run.
type sinkResult struct {
	Sink   string         `json:"sink"`
	Report logtest.Report `json:"report"`
	// Records is every record read back; Foreign are lines that are not
	// the writer's; Tmp are *.tmp files the file sink left (none after a
	// clean stop); Bad are records that are not valid NDJSON.
	Records int64 `json:"records"`
	Foreign int64 `json:"foreign"`
	Tmp     int   `json:"tmp_files,omitempty"`
	Bad     int64 `json:"bad_records,omitempty"`
}

// check counts lines first..last at every sink, reading the file sink's
// finished files (not *.tmp) from the start.
func (s *sinks) check(first, last int64) ([]sinkResult, error) {
	var out []sinkResult
	if s.rc != nil {
		r := sinkResult{Sink: "http", Report: s.rc.Tally.Check(source, first, last), Foreign: s.rc.Tally.Foreign}
		r.Records = r.Report.Unique + r.Report.Duplicates + r.Report.Unexpected + r.Foreign
		out = append(out, r)
	}
	if s.fileDir != "" {
		t, r, err := tallyFiles(s.fileDir)
		if err != nil {
			return nil, err
		}
		r.Report = t.Check(source, first, last)
		r.Foreign = t.Foreign
		out = append(out, r)
	}
	return out, nil
}

// tallyFiles reads every finished file of a file sink directory (gzip
// or not) into a Tally.
func tallyFiles(dir string) (*logtest.Tally, sinkResult, error) {
	t := logtest.NewTally()
	r := sinkResult{Sink: "file"}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, r, err
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".tmp") {
			r.Tmp++
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, r, err
		}
		var rd io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				return nil, r, err
			}
			rd = zr
		}
		br := bufio.NewReaderSize(rd, 1<<20)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				r.Records++
				if l, err := logtest.RecordLine(line[:len(line)-1], true); err != nil {
					r.Bad++
				} else {
					t.Add(l)
				}
			} else if len(line) > 0 {
				r.Bad++ // a torn last record
			}
			if err == bufio.ErrBufferFull {
				r.Bad++ // a record over 1 MiB: not logbench's
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
			}
			if err != nil {
				break
			}
		}
		f.Close()
	}
	return t, r, nil
}

// fileCounter counts the complete records in a file sink's directory as
// they are written, *.tmp included, each file once by inode (a .tmp is
// linked to its final name).
type fileCounter struct {
	dir   string
	seen  map[uint64]int64 // inode -> bytes counted
	lines int64
	buf   []byte
}

func (c *fileCounter) poll() int64 {
	ents, _ := os.ReadDir(c.dir)
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || strings.HasSuffix(e.Name(), ".gz") || strings.HasSuffix(e.Name(), ".gz.tmp") {
			continue
		}
		ino := info.Sys().(*syscall.Stat_t).Ino
		off := c.seen[ino]
		if info.Size() <= off {
			continue
		}
		f, err := os.Open(filepath.Join(c.dir, e.Name()))
		if err != nil {
			continue
		}
		for {
			n, _ := f.ReadAt(c.buf, off)
			end := bytes.LastIndexByte(c.buf[:n], '\n') + 1
			if end == 0 {
				break
			}
			c.lines += int64(bytes.Count(c.buf[:end], []byte{'\n'}))
			off += int64(end)
		}
		f.Close()
		c.seen[ino] = off
	}
	return c.lines
}
