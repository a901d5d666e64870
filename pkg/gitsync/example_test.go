package gitsync_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/gitsync"
	"github.com/podkit/podkit/pkg/gitsync/hook"
)

// A syncer as a library: keep /srv/git/html at the tip of main, and tell
// a local server to reload after each new commit.
func ExampleNew() {
	s, err := gitsync.New(gitsync.Config{
		Repo: "https://github.com/org/site.git", Ref: "main",
		Root: "/srv/git", Link: "html", Period: 30 * time.Second, Depth: 1, MaxFailures: -1,
		Hooks: []gitsync.Hook{{Runner: &hook.Webhook{URL: "http://127.0.0.1:8080/-/reload", SuccessStatus: 200}, Backoff: 3 * time.Second}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
