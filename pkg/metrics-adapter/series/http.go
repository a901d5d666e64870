package series

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var (
	contentTypeText = string(expfmt.NewFormat(expfmt.TypeTextPlain))
	contentTypeOM   = string(expfmt.NewFormat(expfmt.TypeOpenMetrics))
	gzipPool        = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}}
)

// Handler returns the /metrics handler: OpenMetrics when the Accept header
// asks for it (expfmt.NegotiateIncludingOpenMetrics), otherwise the text
// format (also when protobuf is asked for: the store does not write it),
// gzipped at BestSpeed when Accept-Encoding allows gzip. The families of
// more follow the store's, in the same format; one whose name the store
// also holds is left out, so the exposition stays valid.
func (s *Store) Handler(more ...prometheus.Gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ct := FormatText, contentTypeText
		if expfmt.NegotiateIncludingOpenMetrics(r.Header).FormatType() == expfmt.TypeOpenMetrics {
			f, ct = FormatOpenMetrics, contentTypeOM
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			_ = s.exposeAll(w, f, more) // a write error means the client went away
			return
		}
		h.Set("Content-Encoding", "gzip")
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		if s.exposeAll(gz, f, more) == nil {
			_ = gz.Close()
		}
		gz.Reset(nil)
		gzipPool.Put(gz)
	})
}

func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		enc, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok && strings.TrimSpace(q) == "0" {
			return false
		}
		return true
	}
	return false
}

// exposeAll writes the store, then the families of more that the store
// does not hold.
func (s *Store) exposeAll(w io.Writer, f Format, more []prometheus.Gatherer) error {
	if len(more) == 0 {
		return s.Expose(w, f)
	}
	// The names actually written, not the store's names afterwards: a
	// family that expires meanwhile must still not be written twice.
	written := map[string]bool{}
	if err := s.expose(w, f, false, func(name string) { written[name] = true }); err != nil {
		return err
	}
	// Gatherers returns what it could gather along with an error; a
	// broken extra source must not hide the others.
	mfs, _ := prometheus.Gatherers(more).Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	if f == FormatOpenMetrics {
		enc = expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	}
	for _, mf := range mfs {
		if written[mf.GetName()] {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if f == FormatOpenMetrics {
		_, err := io.WriteString(w, "# EOF\n")
		return err
	}
	return nil
}
