package statsd

import "fmt"

// Dialect is a set of tag dialects (bit flags).
type Dialect uint8

// The tag dialects, each switchable like statsd_exporter's
// --statsd.parse-{dogstatsd,influxdb,librato,signalfx}-tags flags.
const (
	DogStatsD Dialect = 1 << iota // name:1|c|#k:v,k2:v2
	InfluxDB                      // name,k=v,k2=v2:1|c
	Librato                       // name#k=v,k2=v2:1|c
	SignalFX                      // name[k=v,k2=v2]:1|c

	AllDialects = DogStatsD | InfluxDB | Librato | SignalFX
)

// Limits bound the work and memory per packet. Zero fields take defaults.
type Limits struct {
	MaxPacketSize int // bytes; 0: 65535 (the largest UDP datagram)
	MaxLineLength int // bytes; 0: 8192 (DogStatsD's default buffer)
	MaxTags       int // labels per sample; 0: 64
	MaxRepeat     int // cap on Event.Repeat (1/sample rate); 0: 1000000
}

// Default limits.
const (
	DefaultMaxPacketSize = 65535
	DefaultMaxLineLength = 8192
	DefaultMaxTags       = 64
	DefaultMaxRepeat     = 1000000
)

// Config configures a Parser. The zero value behaves like statsd_exporter
// v0.31.0 with its default flags.
type Config struct {
	// DisabledTags are the dialects not parsed (zero: all four parsed, the
	// statsd_exporter default). A disabled dialect's syntax stays part of
	// the name (or, for DogStatsD, is ignored), as in statsd_exporter.
	DisabledTags Dialect
	// Sets: emit TypeSet events for "|s", whose member is any text
	// (Event.Member). statsd_exporter has no sets and rejects them
	// (illegal_event), which is what false does.
	Sets   bool
	Limits Limits
}

// Parser parses statsd packets. It is not safe for concurrent use: run one
// per reader goroutine.
type Parser struct {
	dialects Dialect
	sets     bool
	lim      Limits

	ev      Event
	labels  []Label
	scratch []byte // escaped label names and SignalFX names; reset per line
	tooMany bool
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
		{"Limits.MaxRepeat", &lim.MaxRepeat, DefaultMaxRepeat},
	} {
		if *f.v < 0 {
			return nil, fmt.Errorf("statsd: %s: must be >= 0 (got %d)", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if cfg.DisabledTags&^AllDialects != 0 {
		return nil, fmt.Errorf("statsd: DisabledTags: unknown dialect bits %#x", uint8(cfg.DisabledTags&^AllDialects))
	}
	return &Parser{
		dialects: AllDialects &^ cfg.DisabledTags,
		sets:     cfg.Sets,
		lim:      lim,
		labels:   make([]Label, 0, lim.MaxTags+1),
		// Per line: a SignalFX name (< line) plus escaped label names (each
		// at most one byte longer than the key) fit in 2 lines + tags.
		scratch: make([]byte, 0, min(2*lim.MaxLineLength+lim.MaxTags+8, 1<<20)),
	}, nil
}

// Limits returns the limits in effect, defaults filled in.
func (p *Parser) Limits() Limits { return p.lim }
