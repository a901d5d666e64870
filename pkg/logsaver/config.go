package logsaver

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/logsaver/format"
	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/sink"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// Defaults.
const (
	DefaultMaxBufferBytes = 4 << 20
	DefaultBatchBytes     = 1 << 20
	DefaultBatchWait      = 200 * time.Millisecond
	// DefaultRetryMax caps the wait between two tries of a batch the sink
	// refused.
	DefaultRetryMax = 30 * time.Second
)

// Config configures a Saver.
type Config struct {
	// Tail finds and follows the files (Paths, Exclude, PollInterval,
	// MaxLineBytes, ...); its Logger is set from Logger.
	Tail tail.Config
	// StateDir holds the checkpoints; required. Nothing else is written
	// outside the sinks' own destinations.
	StateDir string
	// Sinks are destination URLs (file:///DIR, http(s)://, s3://,
	// syslog+tcp://, stdout); at least one.
	Sinks []string
	// SinkOptions are passed to every sink (HTTP headers, clients).
	SinkOptions sink.Options

	Format           format.Format
	MultilineStart   *regexp.Regexp
	MultilineTimeout time.Duration // 0: format.DefaultTimeout

	// Labels are added to every record; PodLabels adds the pod's identity
	// from the Downward-API variables POD_NAME, POD_NAMESPACE, POD_UID and
	// NODE_NAME when set.
	Labels    []record.Label
	PodLabels bool

	// MaxBufferBytes bounds the NDJSON bytes a sink's pipeline holds in
	// batches not yet acknowledged: reading pauses at it (one read of at
	// most max(BatchBytes, Tail.MaxLineBytes) of lines may be under way).
	// 0: 4 MiB.
	MaxBufferBytes int
	// BatchBytes is the NDJSON size at which a batch is sent; BatchWait
	// how long a smaller one waits for more lines. 0: 1 MiB, 200ms.
	BatchBytes int
	BatchWait  time.Duration
	// RetryMax caps the backoff between tries of a refused batch; 0: 30s.
	RetryMax time.Duration
	// DrainTimeout bounds, after ctx ends, the reading of what the files
	// still hold and its delivery (a native sidecar outlives the app
	// precisely for this); 0: 5s.
	DrainTimeout time.Duration

	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // podkit_logsaver_* metrics; nil: none
}

// podEnv maps Downward-API variables to label names.
var podEnv = [...][2]string{{"POD_NAME", "pod"}, {"POD_NAMESPACE", "namespace"}, {"POD_UID", "pod_uid"}, {"NODE_NAME", "node"}}

func (c *Config) defaults() error {
	if c.StateDir == "" {
		return fmt.Errorf("logsaver: a state directory is required")
	}
	if len(c.Sinks) == 0 {
		return fmt.Errorf("logsaver: at least one sink is required")
	}
	if len(c.Tail.Paths) == 0 {
		return fmt.Errorf("logsaver: at least one path is required")
	}
	for _, v := range []struct {
		name string
		p    *int
		def  int
	}{{"max buffer bytes", &c.MaxBufferBytes, DefaultMaxBufferBytes}, {"batch bytes", &c.BatchBytes, DefaultBatchBytes}} {
		if *v.p < 0 {
			return fmt.Errorf("logsaver: %s must be > 0 (got %d)", v.name, *v.p)
		}
		if *v.p == 0 {
			*v.p = v.def
		}
	}
	if c.BatchBytes > c.MaxBufferBytes {
		return fmt.Errorf("logsaver: batch bytes (%d) must not exceed max buffer bytes (%d)", c.BatchBytes, c.MaxBufferBytes)
	}
	// Decoders are made per file as files appear: a setting they refuse
	// would leave those files' lines unsent, so it is refused here.
	if _, err := format.New(c.decoderConfig("", 0, nil)); err != nil {
		return fmt.Errorf("logsaver: %w", err)
	}
	if c.BatchWait <= 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	// One read goes into the batch being built, whole, and its NDJSON is
	// about 2.3 times its lines: reads of a quarter batch keep batches
	// (and the buffer bound) close to their size.
	if c.Tail.ReadBufferBytes == 0 {
		c.Tail.ReadBufferBytes = max(1, c.BatchBytes/4) // tail raises it to MaxLineBytes+1
	}
	if c.Tail.Logger == nil {
		c.Tail.Logger = c.Logger
	}
	c.Labels = slices.Clone(c.Labels) // appended to below: never the caller's array
	if c.PodLabels {
		for _, e := range podEnv {
			if v := os.Getenv(e[0]); v != "" {
				c.Labels = append(c.Labels, record.Label{Name: e[1], Value: v})
			}
		}
	}
	return nil
}

// decoderConfig is the format.Config of a decoder for file from start.
func (c *Config) decoderConfig(file string, start int64, now func() time.Time) format.Config {
	return format.Config{Format: c.Format, File: file, Multiline: c.MultilineStart,
		Timeout: c.MultilineTimeout, MaxBytes: c.Tail.MaxLineBytes, Start: start, Now: now}
}
