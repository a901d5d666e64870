package statsd_test

import (
	"fmt"

	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

type printer struct{}

func (printer) Event(e *statsd.Event) {
	fmt.Printf("%s %s %g x%d", e.Name, e.Type, e.ObservedValue(), e.Repeat)
	for _, l := range e.Labels {
		fmt.Printf(" %s=%s", l.Name, l.Value)
	}
	fmt.Println()
}

func (printer) Error(r statsd.Reason, line []byte) { fmt.Printf("rejected (%s)\n", r) }

func ExampleNew() {
	p, err := statsd.New(statsd.Config{DisabledTags: statsd.SignalFX})
	if err != nil {
		panic(err)
	}
	packet := []byte("api.requests:1|c|@0.5|#env:prod,http.status:200\n" +
		"api.latency,env=prod:320|ms\n" +
		"api.latency:1:2|ms\n" +
		"api.errors:-1|c")
	p.Parse(packet, printer{})
	// Output:
	// api.requests counter 2 x1 env=prod http_status=200
	// api.latency timer 0.32 x1 env=prod
	// api.latency timer 0.001 x1
	// api.latency timer 0.002 x1
	// rejected (illegal_negative_counter)
}
