package graphite

import "fmt"

// Limits bound the work and memory per packet. Zero fields take defaults.
type Limits struct {
	// MaxPacketSize in bytes; 0: 65536, graphite_exporter's UDP read
	// buffer.
	MaxPacketSize int
	// MaxLineLength in bytes, '\n' excluded; 0: 65535, the longest line
	// graphite_exporter's bufio.Scanner (64 KiB buffer) takes before it
	// stops reading the connection.
	MaxLineLength int
	// MaxTags is the number of labels per sample; 0: 64.
	// graphite_exporter has no limit.
	MaxTags int
}

// Default limits.
const (
	DefaultMaxPacketSize = 65536
	DefaultMaxLineLength = 65535
	DefaultMaxTags       = 64
)

// Config configures a Parser. The zero value behaves like graphite_exporter
// v0.16.0, within the default Limits.
type Config struct {
	Limits Limits
}

// Parser parses Graphite plaintext packets. It is not safe for concurrent
// use: run one per reader goroutine.
type Parser struct {
	lim Limits

	s       Sample
	labels  []Label
	scratch []byte // escaped tag names; reset per line
}

// New validates cfg and returns a Parser.
func New(cfg Config) (*Parser, error) {
	lim := cfg.Limits
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"Limits.MaxPacketSize", &lim.MaxPacketSize, DefaultMaxPacketSize},
		{"Limits.MaxLineLength", &lim.MaxLineLength, DefaultMaxLineLength},
		{"Limits.MaxTags", &lim.MaxTags, DefaultMaxTags},
	} {
		if *f.v < 0 {
			return nil, fmt.Errorf("graphite: %s: must be >= 0 (got %d)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return &Parser{
		lim:    lim,
		labels: make([]Label, 0, lim.MaxTags),
		// An escaped tag name is at most one byte per byte of the key.
		scratch: make([]byte, 0, min(lim.MaxLineLength, 1<<20)),
	}, nil
}

// Limits returns the limits in effect, defaults filled in.
func (p *Parser) Limits() Limits { return p.lim }
