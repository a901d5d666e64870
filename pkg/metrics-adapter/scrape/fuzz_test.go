package scrape

import (
	"os"
	"testing"
)

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(jsonExporterExample))
	f.Add([]byte(jsonExporterAnimals))
	for _, tc := range relabelCases {
		f.Add([]byte("scrapes:\n  x:\n    metric_relabel_configs:" + tc.rules))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if c != nil {
				t.Fatal("ParseConfig returned a Config and an error")
			}
			return
		}
		for name, tg := range c.Scrapes {
			tg.URL = "http://127.0.0.1:1/"
			if _, err := compileTarget(name, tg, nil, true); err != nil {
				t.Fatalf("parsed config does not compile: %v", err)
			}
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	for _, p := range []string{"{.a.b[*].c}", `{ .values[?(@.state == "ACTIVE")] }`, "{$}", "{..x}", "{.a[-1:]}", "{.a['b.c']}", "x-{.a}-{.b[0,1]}", `{.a[?(@.n >= 2.5)].n}`, `{.a[?(@.x)]}`} {
		f.Add(p, `{"a":{"b":[{"c":1},{"c":"x"}]},"values":[{"state":"ACTIVE","n":3}],"x":[1,{"x":2}]}`)
	}
	f.Fuzz(func(t *testing.T, path, doc string) {
		tmpl, err := CompileTemplate(path)
		if err != nil {
			return
		}
		d, err := decodeJSON([]byte(doc))
		if err != nil {
			return
		}
		_, _ = tmpl.Execute(d)
		_, _ = tmpl.Select(d)
	})
}

func FuzzJSON(f *testing.F) {
	for _, p := range []string{"testdata/jsonexporter-data.json", "testdata/jsonexporter-animal-data.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(jolokia))
	f.Add([]byte(jolokiaBulk))
	cfg, err := ParseConfig([]byte(jsonExporterExample + jsonExporterAnimals[len("\nscrapes:"):] + `
  jolokia:
    format: json
    metrics:
    - {name: heap, path: '{.value.HeapMemoryUsage.used}', labels: {m: '{.request.mbean}'}}
    - {name: any, type: object, path: '{..used}', values: {v: '{$}'}}
    - {name: pool, type: object, path: '{.value.*}', labels: {t: '{.Type}'}, values: {u: '{.Usage.used}'}}
`))
	if err != nil {
		f.Fatal(err)
	}
	var targets []*compiled
	for name, tg := range cfg.Scrapes {
		c, err := compileTarget(name, tg, nil, false)
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, c)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range targets {
			fams, _, err := c.process(body, "")
			if err == nil && countSeries(fams) > c.seriesLimit {
				t.Fatal("over the series limit")
			}
		}
	})
}

func FuzzPrometheusText(f *testing.F) {
	f.Add([]byte(fooText), false)
	f.Add([]byte("# TYPE foo counter\nfoo_total{a=\"1\"} 5 1.5 # {x=\"y\"} 1\nfoo_created 1\n# EOF\n"), true)
	c, err := compileTarget("x", &Target{MetricRelabelConfigs: []RelabelConfig{
		{SourceLabels: []string{"__name__"}, Regex: ptr("(.*)_total"), TargetLabel: "__name__", Replacement: ptr("${1}_count")},
		{Action: "labelmap", Regex: ptr("(.+)"), Replacement: ptr("x_$1")},
	}}, nil, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, om bool) {
		ct := ""
		if om {
			ct = "application/openmetrics-text"
		}
		_, _, _ = c.process(body, ct)
	})
}

func ptr(s string) *string { return &s }
