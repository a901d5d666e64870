package reload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFileChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(path, "a: 1\n")
	f := &File{Path: path, Max: 64}
	if data, err := f.Read(); err != nil || string(data) != "a: 1\n" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	if f.Changed() {
		t.Fatal("unchanged file reported changed")
	}
	// Same content, new mtime: not a change.
	later := time.Now().Add(time.Minute)
	os.Chtimes(path, later, later)
	if f.Changed() {
		t.Fatal("touched file reported changed")
	}
	write(path, "a: 2\n")
	if !f.Changed() {
		t.Fatal("new content not noticed")
	}
	f.Read()
	// A ConfigMap update: the path is a symlink swapped to a new file.
	link := filepath.Join(dir, "link")
	write(filepath.Join(dir, "v1"), "x")
	os.Symlink(filepath.Join(dir, "v1"), link)
	g := &File{Path: link}
	g.Read()
	write(filepath.Join(dir, "v2"), "y")
	os.Symlink(filepath.Join(dir, "v2"), link+".tmp")
	os.Rename(link+".tmp", link)
	if !g.Changed() {
		t.Fatal("symlink swap not noticed")
	}
	// Too large: a change that Read rejects.
	write(path, strings.Repeat("x", 65))
	if !f.Changed() {
		t.Fatal("oversized file not reported")
	}
	if _, err := f.Read(); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Fatalf("Read of oversized file: %v", err)
	}
	os.Remove(path)
	if f.Changed() {
		t.Fatal("a missing file (being replaced) reported changed")
	}
}

func TestReloaderRunCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg")
	// Replaced by rename, as a ConfigMap is: a reader never sees half a file.
	put := func(s string) {
		os.WriteFile(path+".new", []byte(s), 0o644)
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	put("good 1")
	f := &File{Path: path}
	applied := make(chan string, 10)
	running := "good 1"
	r := &Reloader{
		Files:    []*File{f},
		Interval: 5 * time.Millisecond,
		Apply: func() error {
			data, err := f.Read()
			if err != nil {
				return err
			}
			if !strings.HasPrefix(string(data), "good") {
				applied <- "rejected"
				return errors.New("bad config")
			}
			running = string(data)
			applied <- running
			return nil
		},
	}
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	f.Read()
	sig := make(chan os.Signal, 1)
	r.Signals = sig
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	next := func() string {
		select {
		case s := <-applied:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no reload")
			return ""
		}
	}
	put("good 2")
	if got := next(); got != "good 2" {
		t.Fatalf("file change applied %q", got)
	}
	put("bad")
	if got := next(); got != "rejected" {
		t.Fatalf("bad file: %q", got)
	}
	// Apply reported before Reload counted it: wait for the count.
	for i := 0; testutil.ToFloat64(r.lastOK) != 0; i++ {
		if i == 1000 {
			t.Fatal("last_reload_successful stays 1 after a rejection")
		}
		time.Sleep(time.Millisecond)
	}
	put("good 3")
	sig <- os.Interrupt // a signal reloads too (the file change may win the race: either applies good 3)
	if got := next(); got != "good 3" {
		t.Fatalf("after fix: %q", got)
	}
	cancel()
	<-done
	if running != "good 3" {
		t.Fatalf("running %q", running)
	}
	if v := testutil.ToFloat64(r.reloads.WithLabelValues("failure")); v != 1 {
		t.Fatalf("failures = %v, want 1", v)
	}
	if v := testutil.ToFloat64(r.lastOK); v != 1 {
		t.Fatalf("last_reload_successful = %v", v)
	}
}
