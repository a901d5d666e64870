package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Writer is the stdout sink: it writes each batch's NDJSON to an io.Writer.
// A batch counts as delivered once Write returns, as for any log line on
// stdout: whatever collects the container's stdout takes it from there.
type Writer struct {
	name string
	w    io.Writer
	c    counters
}

var (
	_ record.Sink = (*Writer)(nil)
	_ StatsSource = (*Writer)(nil)
)

// NewWriter returns a sink writing to w (nil: os.Stdout), named name
// ("stdout" if empty).
func NewWriter(w io.Writer, name string) *Writer {
	if w == nil {
		w = os.Stdout
	}
	if name == "" {
		name = "stdout"
	}
	return &Writer{name: name, w: w}
}

func newStdoutFromURL(u *url.URL, _ *Params, opts Options) (record.Sink, error) {
	if u.Host != "" || u.Path != "" || u.Opaque != "" || u.User != nil {
		return nil, errors.New("stdout takes no host or path: write stdout")
	}
	return NewWriter(opts.Stdout, "stdout"), nil
}

// Name is the name given to NewWriter.
func (w *Writer) Name() string { return w.name }

// Send writes b.NDJSON in one Write call.
func (w *Writer) Send(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		w.c.failed.Add(1)
		return err
	}
	n, err := w.w.Write(b.NDJSON)
	if err == nil && n < len(b.NDJSON) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.c.failed.Add(1)
		return fmt.Errorf("sink %s: %w", w.name, err)
	}
	w.c.ack(b.Len(), len(b.NDJSON), n)
	return nil
}

// Stats returns the sink's counters.
func (w *Writer) Stats() Stats { return w.c.snapshot() }

// Close does nothing: the writer (os.Stdout) is not the sink's to close.
func (w *Writer) Close() error { return nil }
