package scrape_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/podkit/podkit/pkg/metrics-adapter/scrape"
)

func ExampleNew() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"value":{"HeapMemoryUsage":{"used":52428800}}}`)
	}))
	defer app.Close()
	cfg, err := scrape.ParseConfig([]byte(`
scrapes:
  jvm:
    format: json
    metrics:
    - name: jvm_heap_used_bytes
      path: '{.value.HeapMemoryUsage.used}'
      valuetype: gauge
      help: Heap in use.
`))
	if err != nil {
		panic(err)
	}
	if err := cfg.AddFlags([]string{"jvm=" + app.URL}); err != nil { // --scrape jvm=URL
		panic(err)
	}
	s, err := scrape.New(cfg, scrape.Options{Registry: prometheus.NewRegistry()})
	if err != nil {
		panic(err)
	}
	_ = s.Scrape(context.Background(), "jvm") // Run(ctx) does this every interval
	fams, _ := s.Gather()
	for _, f := range fams {
		_, _ = expfmt.MetricFamilyToText(os.Stdout, f)
	}
	// Output:
	// # HELP jvm_heap_used_bytes Heap in use.
	// # TYPE jvm_heap_used_bytes gauge
	// jvm_heap_used_bytes 5.24288e+07
}
