package logtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// Receiver is an HTTP sink endpoint: it takes NDJSON batches (gzip or
// not), as logsaver's http sink POSTs them, into a Tally. Down makes it
// answer 503 until Up, to play an outage.
type Receiver struct {
	Tally    *Tally
	Batches  atomic.Int64 // batches accepted
	Rejected atomic.Int64 // requests answered with an error
	Bytes    atomic.Int64 // body bytes accepted, decompressed
	// Fast skips the JSON check of records that RecordLine can read
	// without decoding (set it before serving): for logbench, where
	// encoding/json would cost more CPU than the shipper measured. Tests
	// leave it off, so that every record is checked to be valid JSON.
	Fast bool

	mu   sync.Mutex
	down int // status to answer while down (503, 429); 0: up
}

// NewReceiver returns a Receiver counting into a new Tally.
func NewReceiver() *Receiver { return &Receiver{Tally: NewTally()} }

// Down makes every request fail with status (503 or 429, which gets
// Retry-After: 1) until Up.
func (rc *Receiver) Down(status int) {
	rc.mu.Lock()
	rc.down = status
	rc.mu.Unlock()
}

// Up ends an outage.
func (rc *Receiver) Up() { rc.Down(0) }

// maxBody bounds one request: a batch bigger than this is refused (413).
const maxBody = 64 << 20

// recordPrefix starts every record logsaver writes: "line" comes first.
const recordPrefix = `{"line":"`

// RecordLine returns the "line" member of one NDJSON record (a new slice).
// With fast, a record that starts {"line":"TEXT" where TEXT has no escape
// is taken as it is, only checked to end in '}', which is ten times
// cheaper than decoding it; anything else is decoded with encoding/json.
func RecordLine(rec []byte, fast bool) ([]byte, error) {
	if fast {
		if rest, ok := bytes.CutPrefix(rec, []byte(recordPrefix)); ok {
			if i := bytes.IndexAny(rest, `"\`); i >= 0 && rest[i] == '"' && bytes.HasSuffix(rec, []byte("}")) {
				return bytes.Clone(rest[:i]), nil
			}
		}
	}
	var r struct {
		Line string `json:"line"`
	}
	if err := json.Unmarshal(rec, &r); err != nil {
		return nil, err
	}
	return []byte(r.Line), nil
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	down := rc.down
	rc.mu.Unlock()
	if down != 0 {
		rc.Rejected.Add(1)
		if down == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, "down", down)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			rc.Rejected.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = io.LimitReader(zr, maxBody)
	}
	// Parse the whole batch before counting any of it: a batch is acked
	// (and counted) whole or not at all, as a real endpoint would.
	var lines [][]byte
	var n int64
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		n += int64(len(sc.Bytes())) + 1
		line, err := RecordLine(sc.Bytes(), rc.Fast)
		if err != nil {
			rc.Rejected.Add(1)
			http.Error(w, "bad NDJSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		rc.Rejected.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, l := range lines {
		rc.Tally.Add(l)
	}
	rc.Batches.Add(1)
	rc.Bytes.Add(n)
	w.WriteHeader(http.StatusNoContent)
}
