package health_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/podkit/podkit/pkg/health"
)

func ExampleNew() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, `{"status":"UP"}`) }))
	defer app.Close()

	// The --check syntax; a Spec literal works as well.
	spec, err := health.ParseSpec("app=" + app.URL + "/healthz;kind=readiness;period=50ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec.ExpectBody = `"UP"`
	c, err := health.New(health.Config{
		Checks: []health.Spec{spec},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// podkit mounts it on its admin server (c.Mount) and runs it as a
	// daemon component: Ready feeds /readyz, Live /healthz.
	fmt.Println("before Run:", c.Ready())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for c.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("app:", c.Checks()[0].Status)
	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// before Run: not ready: app: no result yet
	// app: ok
	// Run: <nil>
}
