package series

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"

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
// gzipped at BestSpeed when Accept-Encoding allows gzip.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ct := FormatText, contentTypeText
		if expfmt.NegotiateIncludingOpenMetrics(r.Header).FormatType() == expfmt.TypeOpenMetrics {
			f, ct = FormatOpenMetrics, contentTypeOM
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			_ = s.Expose(w, f) // a write error means the client went away
			return
		}
		h.Set("Content-Encoding", "gzip")
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		if s.Expose(gz, f) == nil {
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
