package load

import "fmt"

type errKind int

const (
	errNone errKind = iota
	// Verification: the response was well formed but its content is wrong.
	errWrongKey   // an intact value written for another key
	errChecksum   // a value cut short, changed, or not written by mcload
	errFlags      // the item's flags are not the ones written with that value
	errStale      // a version older than one acknowledged before the get was sent
	errUnexpected // a VALUE for a key not requested, out of order or repeated
	// Protocol: the response stream cannot be parsed; the connection is redialled.
	errProtocol
	// Errors the server (or proxy) reports or the network causes.
	errServer    // ERROR, CLIENT_ERROR, SERVER_ERROR
	errNotStored // a set answered NOT_STORED, EXISTS or NOT_FOUND
	errTimeout   // no progress within Timeout; the connection is redialled
	errConn      // dial, read or write failure, or the peer closed
	errLost      // requests in flight on a connection that failed
	numErrKinds
)

var errNames = [numErrKinds]string{"", "wrong key", "checksum", "flags", "stale", "unexpected key", "protocol",
	"server error", "not stored", "timeout", "connection", "lost"}

// Errors counts what went wrong, by kind; the warm-up's count too.
type Errors struct {
	WrongKey      int64 `json:"wrong_key"`      // a GET returned another key's (intact) value
	Checksum      int64 `json:"checksum"`       // a value truncated, altered, or not written by mcload
	Flags         int64 `json:"flags"`          // flags differ from those written with the value
	Stale         int64 `json:"stale"`          // older than a version whose STORED had already been read
	UnexpectedKey int64 `json:"unexpected_key"` // a VALUE for a key not requested, or out of order
	Protocol      int64 `json:"protocol"`       // an unparseable (mangled) response
	Server        int64 `json:"server"`         // ERROR, CLIENT_ERROR, SERVER_ERROR replies
	NotStored     int64 `json:"not_stored"`     // a set not answered STORED
	Timeout       int64 `json:"timeout"`        // a read or write that waited longer than the timeout
	Conn          int64 `json:"conn"`           // dial failures and broken connections
	Lost          int64 `json:"lost"`           // requests in flight on a connection that broke
}

func (e *Errors) add(counts *[numErrKinds]int64) {
	e.WrongKey += counts[errWrongKey]
	e.Checksum += counts[errChecksum]
	e.Flags += counts[errFlags]
	e.Stale += counts[errStale]
	e.UnexpectedKey += counts[errUnexpected]
	e.Protocol += counts[errProtocol]
	e.Server += counts[errServer]
	e.NotStored += counts[errNotStored]
	e.Timeout += counts[errTimeout]
	e.Conn += counts[errConn]
	e.Lost += counts[errLost]
}

// Verification is the number of responses that were wrong: wrong key,
// checksum, flags, stale, unexpected key and protocol (mangled).
func (e Errors) Verification() int64 {
	return e.WrongKey + e.Checksum + e.Flags + e.Stale + e.UnexpectedKey + e.Protocol
}

// Total is every error counted.
func (e Errors) Total() int64 {
	return e.Verification() + e.Server + e.NotStored + e.Timeout + e.Conn + e.Lost
}

func (e Errors) String() string {
	return fmt.Sprintf("wrong key %d, checksum %d, flags %d, stale %d, unexpected key %d, protocol %d; "+
		"server %d, not stored %d, timeout %d, connection %d, lost %d",
		e.WrongKey, e.Checksum, e.Flags, e.Stale, e.UnexpectedKey, e.Protocol,
		e.Server, e.NotStored, e.Timeout, e.Conn, e.Lost)
}

// stats is one connection's tally, written only by the goroutine reading
// its responses.
type stats struct {
	gets, sets, getKeys, hits int64
	errs                      [numErrKinds]int64
	lat                       [2]hist // by opGet, opSet
	samples                   []string
}

const (
	maxSamples      = 4  // error descriptions kept per connection
	maxTotalSamples = 12 // and in all
)

func (s *stats) fail(k errKind, format string, a ...any) {
	s.errs[k]++
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, errNames[k]+": "+fmt.Sprintf(format, a...))
	}
}

func (s *stats) merge(o *stats) {
	s.gets += o.gets
	s.sets += o.sets
	s.getKeys += o.getKeys
	s.hits += o.hits
	for i := range s.errs {
		s.errs[i] += o.errs[i]
	}
	s.lat[opGet].merge(&o.lat[opGet])
	s.lat[opSet].merge(&o.lat[opSet])
	s.samples = append(s.samples, o.samples[:min(len(o.samples), maxTotalSamples-len(s.samples))]...)
}
