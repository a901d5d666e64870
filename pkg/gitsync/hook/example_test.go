package hook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/podkit/podkit/pkg/gitsync/hook"
)

func ExampleNewQueue() {
	got := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.Header.Get("Gitsync-Hash")
	}))
	defer app.Close()

	w := &hook.Webhook{URL: app.URL + "/reload", SuccessStatus: hook.DefaultWebhookStatus}
	if err := w.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q := hook.NewQueue(w, hook.DefaultBackoff, log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx) }()

	// The syncer calls Send after each new tree is published; it returns at once.
	q.Send("4b825dc642cb6eb9a060e54bf8d69288fbee4904", "/git/.worktrees/4b825dc")
	fmt.Println(<-got)

	cancel()
	<-done
	// Output: POST 4b825dc642cb6eb9a060e54bf8d69288fbee4904
}
