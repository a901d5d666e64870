// Package syslog is the syslog+tcp:// sink of podkit logsaver, the
// log-saving sidecar (Burns & Oppenheimer 2016, section 4.1): each record
// becomes one RFC 5424 message, framed by octet counting (RFC 6587
// section 3.4.1), so lines may hold newlines. It replaces the syslog
// outputs of fluent-bit and Vector; rsyslog's imtcp and syslog-ng's
// syslog() source receive it.
//
// TCP syslog has no acknowledgement: Send returns nil once the batch is
// written to the socket (the kernel's send buffer), so here at-least-once
// means "written to a connection the server had not closed". A server that
// dies with data in flight loses it; Send checks before each batch that
// the server has not closed the connection, which catches restarts between
// batches, and Close waits for the server to close its end so that a clean
// shutdown is flushed.
package syslog

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Config configures a Sink.
type Config struct {
	// URL is required: syslog+tcp://HOST:PORT?facility=local0&app-name=X&hostname=Y.
	// See ParseURL for the options.
	URL string
	// Labels go into every message's structured data, after file and
	// offset; names are made valid SD-NAMEs (see sdName).
	Labels []record.Label
	// WriteTimeout bounds the write of one batch (and a dial); 0 means 30s.
	// A server that stops reading makes Send fail after it, rather than
	// block the sink forever.
	WriteTimeout time.Duration
	Logger       *slog.Logger // nil: slog.Default()
}

// New validates cfg and returns a Sink; it connects at the first Send.
// The default hostname is os.Hostname().
func New(cfg Config) (*Sink, error) {
	opts, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.WriteTimeout < 0 {
		return nil, fmt.Errorf("syslog: WriteTimeout: must be >= 0 (got %s)", cfg.WriteTimeout)
	}
	if opts.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || !printASCII(h, 255) {
			h = "-" // NILVALUE: the receiver fills in the peer's name
		}
		opts.Hostname = h
	}
	s := &Sink{opts: opts, timeout: cfg.WriteTimeout, log: cfg.Logger}
	if s.timeout == 0 {
		s.timeout = 30 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", s.Name())
	s.labels = sdLabels(cfg.Labels)
	return s, nil
}

var _ record.Sink = (*Sink)(nil)
