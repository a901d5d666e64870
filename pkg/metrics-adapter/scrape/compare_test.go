package scrape

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/podkit/podkit/internal/proctest"
)

// sideBySide are json_exporter `metrics:` lists (indented for a module) and
// documents on which its /probe must answer what a json scrape serves.
var sideBySide = []struct {
	name, metrics, doc string
}{
	{"example", jsonExporterExample[strings.Index(jsonExporterExample, "    metrics:")+len("    metrics:"):], "testdata/jsonexporter-data.json"},
	{"animals", jsonExporterAnimals[strings.Index(jsonExporterAnimals, "    metrics:")+len("    metrics:"):], "testdata/jsonexporter-animal-data.json"},
	{"jolokia", `
    - name: heap_used
      path: '{.value.HeapMemoryUsage.used}'
      valuetype: gauge
      labels: {mbean: '{.request.mbean}', missing: '{.nope}'}
    - name: mem
      type: object
      path: '{.value}'
      values: {heap_max: '{.HeapMemoryUsage.max}', verbose: '{.Verbose}', pending: '{.ObjectPendingFinalizationCount}'}
    - name: not_a_number
      path: '{.request}'
    - name: nope
      path: '{.value.nope}'
`, jolokia},
	{"selectors", `
    - name: first
      path: '{.items[0].n}'
    - name: last
      path: '{.items[-1].n}'
    - name: sliced
      type: object
      path: '{.items[1:3]}'
      labels: {k: '{.k}'}
      values: {n: '{.n}'}
    - name: deep
      path: '{..deepest}'
    - name: big
      type: object
      path: '{.items[?(@.n >= 2.0)]}'
      labels: {k: '{.k}'}
      values: {n: '{.n}'}
    - name: notb
      type: object
      path: '{.items[?(@.k != "b")]}'
      labels: {k: '{.k}', joined: '{$.k}-{.n}'}
      values: {n: '{.n}'}
    - name: flagged
      type: object
      path: '{.items[?(@.flag)]}'
      labels: {k: '{.k}'}
      values: {one: 1}
    - name: strnum
      path: '{.s}'
      valuetype: counter
    - name: quoted
      path: '{.q}'
    - name: several
      path: '{.items[*].n}'
    - name: labels_missing
      path: '{.items[0].n}'
      labels: {missing: '{.nope}', joined: '{.items[*].k}', obj: '{.o}', bool: '{.items[0].flag}'}
    - name: whole_list
      type: object
      path: '{.items}'
      values: {n: '{.n}'}
    - name: union
      type: object
      path: '{.items[0,2]}'
      labels: {k: '{.k}'}
      values: {n: '{.n}'}
    - name: nulls
      path: '{.z}'
`, `{"items":[{"k":"a","n":1,"flag":true},{"k":"b","n":2},{"k":"c","n":3}],"a":{"b":{"deepest":7}},"s":"2.5","q":"\"7\"","o":{"y":1,"x":"z"},"z":null}`},
}

func TestSideBySideJSONExporter(t *testing.T) {
	bin := proctest.GoTool(t, "json_exporter", "github.com/prometheus-community/json_exporter@v0.7.0")
	docs := map[string][]byte{}
	var cfg strings.Builder
	cfg.WriteString("modules:\n")
	for _, tc := range sideBySide {
		cfg.WriteString("  " + tc.name + ":\n    metrics:" + tc.metrics)
		doc := []byte(tc.doc)
		if strings.HasPrefix(tc.doc, "testdata/") {
			var err error
			if doc, err = os.ReadFile(tc.doc); err != nil {
				t.Fatal(err)
			}
		}
		docs["/"+tc.name] = doc
	}
	file := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(docs[r.URL.Path])
	}))
	defer app.Close()
	addr := proctest.FreeAddr(t)
	p := proctest.Start(t, bin, "--config.file="+file, "--web.listen-address="+addr)
	if !p.WaitUntil(func() bool { return proctest.Dials("tcp", addr) }) {
		t.Fatal("json_exporter did not start")
	}
	for _, tc := range sideBySide {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + "/probe?module=" + tc.name + "&target=" + url.QueryEscape(app.URL+"/"+tc.name))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("json_exporter: %s: %s", resp.Status, body)
			}
			want := canonical(t, body)
			got := render(t, "scrapes:\n  x:\n    format: json\n    metrics:"+tc.metrics, docs["/"+tc.name])
			if got != want {
				t.Errorf("json_exporter:\n%s\nscrape:\n%s", want, got)
			}
		})
	}
}

// canonical re-encodes a text exposition as render does.
func canonical(t *testing.T, body []byte) string {
	t.Helper()
	fams, err := parseText(body, "")
	if err != nil {
		t.Fatal(err)
	}
	fams, _ = normalize(fams)
	var b bytes.Buffer
	for _, f := range fams {
		_, _ = expfmt.MetricFamilyToText(&b, f)
	}
	return b.String()
}
