package listen_test

import (
	"context"
	"fmt"
	"net"

	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

type printer struct{}

func (printer) Event(e *statsd.Event)              { fmt.Printf("%s %s %g\n", e.Name, e.Type, e.Value) }
func (printer) Error(r statsd.Reason, line []byte) { fmt.Printf("rejected (%s)\n", r) }

func ExampleListen() {
	got := make(chan struct{})
	l, err := listen.Listen(listen.Config{
		UDPAddr: "127.0.0.1:0",
		// One Parser per reading goroutine: a Parser is not shared.
		NewHandler: func() listen.Handler {
			p, err := statsd.New(statsd.Config{})
			if err != nil {
				panic(err)
			}
			return func(packet []byte) {
				p.Parse(packet, printer{})
				got <- struct{}{}
			}
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()

	c, err := net.Dial("udp", l.UDPAddr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("api.requests:1|c|#env:prod\napi.latency:320|ms"))
	<-got
	cancel()
	<-done
	fmt.Println("packets:", l.Stats().UDP.Packets)
	// Output:
	// api.requests counter 1
	// api.latency timer 320
	// packets: 1
}
