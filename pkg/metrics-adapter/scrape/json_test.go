package scrape

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// render runs a config's only target over body and returns the text format.
func render(t testing.TB, config string, body []byte) string {
	t.Helper()
	cfg, err := ParseConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	var c *compiled
	for name, tg := range cfg.Scrapes {
		if c, err = compileTarget(name, tg, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	fams, _, err := c.process(body, "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// jsonExporterExample is json_exporter v0.7.0's examples/config.yml modules,
// as scrapes, without the epochTimestamp line json_exporter ignores.
const jsonExporterExample = `
scrapes:
  default:
    format: json
    headers:
      X-Dummy: my-test-header
    metrics:
    - name: example_global_value
      path: '{ .counter }'
      help: Example of a top-level global value scrape in the json
      labels:
        environment: beta # static label
        location: 'planet-{.location}'          # dynamic label
    - name: example_timestamped_value
      type: object
      path: '{ .values[?(@.state == "INACTIVE")] }'
      help: Example of a timestamped value scrape in the json
      labels:
        environment: beta # static label
      values:
        count: '{.count}' # dynamic value
    - name: example_value
      type: object
      help: Example of sub-level value scrapes from a json
      path: '{.values[?(@.state == "ACTIVE")]}'
      labels:
        environment: beta # static label
        id: '{.id}'       # dynamic label
      values:
        active: 1         # static value
        count: '{.count}' # dynamic value
        boolean: '{.some_boolean}'
`

const jsonExporterAnimals = `
scrapes:
  animals:
    format: json
    metrics:
    - name: animal
      type: object
      help: Example of top-level lists in a separate module
      path: '{ [*] }'
      labels:
        name: '{ .noun }'
        predator: '{ .predator }'
      values:
        population: '{ .population }'
`

// The expected outputs are json_exporter's README's, verbatim.
func TestJSONExporterExample(t *testing.T) {
	for _, tc := range []struct{ config, data, want string }{
		{jsonExporterExample, "testdata/jsonexporter-data.json", `# HELP example_global_value Example of a top-level global value scrape in the json
# TYPE example_global_value untyped
example_global_value{environment="beta",location="planet-mars"} 1234
# HELP example_timestamped_value_count Example of a timestamped value scrape in the json
# TYPE example_timestamped_value_count untyped
example_timestamped_value_count{environment="beta"} 2
# HELP example_value_active Example of sub-level value scrapes from a json
# TYPE example_value_active untyped
example_value_active{environment="beta",id="id-A"} 1
example_value_active{environment="beta",id="id-C"} 1
# HELP example_value_boolean Example of sub-level value scrapes from a json
# TYPE example_value_boolean untyped
example_value_boolean{environment="beta",id="id-A"} 1
example_value_boolean{environment="beta",id="id-C"} 0
# HELP example_value_count Example of sub-level value scrapes from a json
# TYPE example_value_count untyped
example_value_count{environment="beta",id="id-A"} 1
example_value_count{environment="beta",id="id-C"} 3
`},
		{jsonExporterAnimals, "testdata/jsonexporter-animal-data.json", `# HELP animal_population Example of top-level lists in a separate module
# TYPE animal_population untyped
animal_population{name="deer",predator="false"} 456
animal_population{name="lion",predator="true"} 123
animal_population{name="pigeon",predator="false"} 789
`},
	} {
		data, err := os.ReadFile(tc.data)
		if err != nil {
			t.Fatal(err)
		}
		if got := render(t, tc.config, data); got != tc.want {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tc.data, got, tc.want)
		}
	}
}

// jolokia is a Jolokia read response for java.lang:type=Memory.
const jolokia = `{"request":{"mbean":"java.lang:type=Memory","type":"read"},
 "value":{"HeapMemoryUsage":{"init":262144000,"committed":262144000,"max":4164943872,"used":52428800},
          "NonHeapMemoryUsage":{"init":7667712,"committed":56295424,"max":-1,"used":51738592},
          "ObjectPendingFinalizationCount":0,"Verbose":false},
 "timestamp":1700000000,"status":200}`

// jolokiaBulk is a Jolokia bulk read (a POSTed list answers a list; here the
// wildcard read of several pools).
const jolokiaBulk = `{"request":{"mbean":"java.lang:name=*,type=MemoryPool","type":"read"},
 "value":{"java.lang:name=G1 Eden Space,type=MemoryPool":{"Usage":{"used":1048576,"max":-1},"Type":"HEAP"},
          "java.lang:name=Metaspace,type=MemoryPool":{"Usage":{"used":2097152,"max":-1},"Type":"NON_HEAP"}},
 "status":200}`

func TestJSONSelectors(t *testing.T) {
	for _, tc := range []struct {
		name, metrics, doc, want string
	}{
		{"jolokia heap", `
    - name: jvm_memory_heap_used_bytes
      path: '{.value.HeapMemoryUsage.used}'
      valuetype: gauge
      labels: {mbean: '{.request.mbean}'}
    - name: jvm_memory_verbose
      path: '{$.value.Verbose}'
    - name: jvm_memory
      type: object
      path: '{.value}'
      values: {heap_max_bytes: '{.HeapMemoryUsage.max}', nonheap_max_bytes: '{.NonHeapMemoryUsage.max}'}
`, jolokia, `# HELP jvm_memory_heap_max_bytes jvm_memory
# TYPE jvm_memory_heap_max_bytes untyped
jvm_memory_heap_max_bytes 4.164943872e+09
# HELP jvm_memory_heap_used_bytes jvm_memory_heap_used_bytes
# TYPE jvm_memory_heap_used_bytes gauge
jvm_memory_heap_used_bytes{mbean="java.lang:type=Memory"} 5.24288e+07
# HELP jvm_memory_nonheap_max_bytes jvm_memory
# TYPE jvm_memory_nonheap_max_bytes untyped
jvm_memory_nonheap_max_bytes -1
# HELP jvm_memory_verbose jvm_memory_verbose
# TYPE jvm_memory_verbose untyped
jvm_memory_verbose 0
`},
		{"jolokia pools: escaped dots, quoted keys, wildcard", `
    - name: pool_eden_used
      path: '{.value.java\.lang:name=G1\ Eden\ Space\,type=MemoryPool.Usage.used}'
    - name: pool_meta_used
      path: "{.value['java.lang:name=Metaspace,type=MemoryPool'].Usage.used}"
    - name: pool
      type: object
      path: '{.value.*}'
      labels: {type: '{.Type}'}
      values: {used_bytes: '{.Usage.used}'}
`, jolokiaBulk, `# HELP pool_eden_used pool_eden_used
# TYPE pool_eden_used untyped
pool_eden_used 1.048576e+06
# HELP pool_meta_used pool_meta_used
# TYPE pool_meta_used untyped
pool_meta_used 2.097152e+06
# HELP pool_used_bytes pool
# TYPE pool_used_bytes untyped
pool_used_bytes{type="HEAP"} 1.048576e+06
pool_used_bytes{type="NON_HEAP"} 2.097152e+06
`},
		{"indexes, slices, recursive, filters", `
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
      path: '{.items[?(@.n >= 2)]}'
      labels: {k: '{.k}'}
      values: {n: '{.n}'}
    - name: notb
      type: object
      path: '{.items[?(@.k != "b")]}'
      labels: {k: '{.k}'}
      values: {n: '{.n}'}
    - name: flagged
      type: object
      path: '{.items[?(@.flag)]}'
      labels: {k: '{.k}'}
      values: {one: 1}
    - name: strnum
      path: '{.s}'
    - name: missing
      path: '{.nope}'
    - name: several
      path: '{.items[*].n}'
    - name: labels_missing
      path: '{.items[0].n}'
      labels: {missing: '{.nope}', joined: '{.items[*].k}', obj: '{.o}'}
`, `{"items":[{"k":"a","n":1,"flag":true},{"k":"b","n":2},{"k":"c","n":3}],"a":{"b":{"deepest":7}},"s":"2.5","o":{"y":1,"x":"z"}}`,
			`# HELP big_n big
# TYPE big_n untyped
big_n{k="b"} 2
big_n{k="c"} 3
# HELP deep deep
# TYPE deep untyped
deep 7
# HELP first first
# TYPE first untyped
first 1
# HELP flagged_one flagged
# TYPE flagged_one untyped
flagged_one{k="a"} 1
# HELP labels_missing labels_missing
# TYPE labels_missing untyped
labels_missing{joined="a b c",missing="",obj="{\"x\":\"z\",\"y\":1}"} 1
# HELP last last
# TYPE last untyped
last 3
# HELP notb_n notb
# TYPE notb_n untyped
notb_n{k="a"} 1
notb_n{k="c"} 3
# HELP sliced_n sliced
# TYPE sliced_n untyped
sliced_n{k="b"} 2
sliced_n{k="c"} 3
# HELP strnum strnum
# TYPE strnum untyped
strnum 2.5
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "scrapes:\n  x:\n    format: json\n    metrics:" + tc.metrics
			if got := render(t, cfg, []byte(tc.doc)); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, src := range []string{"{.a", "{range .items}", "{.a[}", "{.a[x]}", "{.a[?(@.x == )]}", "{'lit'}", "{.a[1:2:0]}", "{....a}", "{.a}{"} {
		if _, err := CompileTemplate(src); err == nil {
			t.Errorf("CompileTemplate(%q): no error", src)
		} else if !strings.Contains(err.Error(), "jsonpath") {
			t.Errorf("CompileTemplate(%q): %v does not say jsonpath", src, err)
		}
	}
	for _, tc := range []struct{ src, doc, want string }{
		{"static", `{}`, "static"},
		{"{$}", `{"a":1}`, `{"a":1}`},
		{`{.a}`, `{"a":"\"q\""}`, "q"}, // unquoted as client-go's UnquoteExtend
		{`{.a[5]}`, `{"a":[1]}`, "ERR"},
		{`{.a[?(@.x == 1)].y}`, `{"a":[{"x":1,"y":"one"},{"y":"no x"},{"x":"1","y":"string"}]}`, "one"},
		{`{.a[0,2]}`, `{"a":[1,2,3]}`, "1 3"},
		{`{.a.b}`, `{"a":null}`, "ERR"},
		{`{.a}`, `{"a":null}`, "null"},
	} {
		tmpl, err := CompileTemplate(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		doc, err := decodeJSON([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.Execute(doc)
		if err != nil {
			got = "ERR"
		}
		if got != tc.want {
			t.Errorf("%s on %s: got %q, want %q", tc.src, tc.doc, got, tc.want)
		}
	}
}
