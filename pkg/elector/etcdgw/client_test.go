package etcdgw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/etcdtest"
)

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startClient(t *testing.T) (*etcdtest.Server, *Client) {
	t.Helper()
	s := etcdtest.Start(t)
	return s, newClient(t, Config{Endpoints: []string{s.Endpoint}})
}

func TestPutGetDelete(t *testing.T) {
	t.Parallel()
	_, c := startClient(t)
	ctx := t.Context()

	if _, _, found, err := c.Get(ctx, "k"); err != nil || found {
		t.Fatalf("Get before Put: found %v, err %v", found, err)
	}
	value := "v\x00\xff ünïcode" // arbitrary bytes survive base64
	rev, err := c.Put(ctx, "k", value, 0)
	if err != nil {
		t.Fatal(err)
	}
	kv, grev, found, err := c.Get(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Get: found %v, err %v", found, err)
	}
	want := KV{Key: "k", Value: value, CreateRevision: rev, ModRevision: rev, Version: 1}
	if kv != want || grev != rev {
		t.Fatalf("Get = %+v at %d, want %+v at %d", kv, grev, want, rev)
	}
	rev2, err := c.Put(ctx, "k", "w", 0)
	if err != nil || rev2 <= rev {
		t.Fatalf("second Put: rev %d after %d, err %v", rev2, rev, err)
	}
	if kv, _, _, _ = c.Get(ctx, "k"); kv.Value != "w" || kv.Version != 2 || kv.CreateRevision != rev || kv.ModRevision != rev2 {
		t.Fatalf("Get after update = %+v", kv)
	}
	deleted, _, err := c.Delete(ctx, "k")
	if err != nil || !deleted {
		t.Fatalf("Delete: deleted %v, err %v", deleted, err)
	}
	if _, _, found, err := c.Get(ctx, "k"); err != nil || found {
		t.Fatalf("Get after Delete: found %v, err %v", found, err)
	}
	if deleted, _, err := c.Delete(ctx, "k"); err != nil || deleted {
		t.Fatalf("second Delete: deleted %v, err %v", deleted, err)
	}
}

// Two candidates campaign for one key: one wins, the other sees it.
func TestCampaign(t *testing.T) {
	t.Parallel()
	s, a := startClient(t)
	b := newClient(t, Config{Endpoints: []string{s.Endpoint}})
	ctx := t.Context()
	la, _, err := a.Grant(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	lb, _, err := b.Grant(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		id     string
		won    bool
		leader KV
		rev    int64
		err    error
	}
	results := make(chan result, 2)
	for _, cand := range []struct {
		id    string
		c     *Client
		lease LeaseID
	}{{"a", a, la}, {"b", b, lb}} {
		go func() {
			won, leader, rev, err := cand.c.CreateIfAbsent(ctx, "/election/e", cand.id, cand.lease)
			results <- result{cand.id, won, leader, rev, err}
		}()
	}
	r1, r2 := <-results, <-results
	if r1.err != nil || r2.err != nil {
		t.Fatalf("campaign errors: %v, %v", r1.err, r2.err)
	}
	if r1.won == r2.won {
		t.Fatalf("won: %s %v, %s %v; want exactly one", r1.id, r1.won, r2.id, r2.won)
	}
	winner, loser := r1, r2
	if r2.won {
		winner, loser = r2, r1
	}
	if winner.leader.Value != winner.id || winner.leader.CreateRevision != winner.rev {
		t.Fatalf("winner %s: leader %+v at rev %d", winner.id, winner.leader, winner.rev)
	}
	if loser.leader != winner.leader {
		t.Fatalf("loser sees leader %+v, winner is %+v", loser.leader, winner.leader)
	}
	kv, _, _, err := a.Get(ctx, "/election/e")
	if err != nil || kv != winner.leader {
		t.Fatalf("Get = %+v, %v; want %+v", kv, err, winner.leader)
	}
	// The winner campaigning again (a retry after a lost answer) still wins.
	again, leader, _, err := map[string]*Client{"a": a, "b": b}[winner.id].CreateIfAbsent(ctx, "/election/e", winner.id, winner.leader.Lease)
	if err != nil || !again || leader != winner.leader {
		t.Fatalf("winner's retry: won %v, leader %+v, err %v", again, leader, err)
	}
}

// Every new term's fencing token (the leader key's create revision) is
// larger than the last, whether the leader resigned or lost its lease.
func TestFencingTokenIncreases(t *testing.T) {
	t.Parallel()
	s, a := startClient(t)
	b := newClient(t, Config{Endpoints: []string{s.Endpoint}})
	ctx := t.Context()
	const key = "/election/fence"
	campaign := func(c *Client, id string) (won bool, token int64, lease LeaseID) {
		t.Helper()
		lease, _, err := c.Grant(ctx, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		won, leader, _, err := c.CreateIfAbsent(ctx, key, id, lease)
		if err != nil {
			t.Fatal(err)
		}
		return won, leader.CreateRevision, lease
	}

	won, t1, _ := campaign(a, "a")
	if !won {
		t.Fatal("a did not win an empty election")
	}
	if won, _, _ := campaign(b, "b"); won {
		t.Fatal("b won while a leads")
	}
	// A resign with a stale token deletes nothing.
	if deleted, _, err := b.DeleteIf(ctx, key, t1-1); err != nil || deleted {
		t.Fatalf("DeleteIf with a wrong revision: deleted %v, err %v", deleted, err)
	}
	if deleted, _, err := a.DeleteIf(ctx, key, t1); err != nil || !deleted {
		t.Fatalf("a resigns: deleted %v, err %v", deleted, err)
	}
	won, t2, lb := campaign(b, "b")
	if !won || t2 <= t1 {
		t.Fatalf("after a resigned: b won %v with token %d, previous %d", won, t2, t1)
	}
	// b's lease ends: its key goes with it, and a's next term is later.
	if err := b.Revoke(ctx, lb); err != nil {
		t.Fatal(err)
	}
	won, t3, _ := campaign(a, "a")
	if !won || t3 <= t2 {
		t.Fatalf("after b's lease was revoked: a won %v with token %d, previous %d", won, t3, t2)
	}
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	_, c := startClient(t)
	ctx := t.Context()
	id, ttl, err := c.Grant(ctx, 1500*time.Millisecond) // rounded up: 2s
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 2*time.Second {
		t.Fatalf("granted TTL %s, want 2s", ttl)
	}
	if _, err := c.Put(ctx, "held", "x", id); err != nil {
		t.Fatal(err)
	}
	// Renew for twice the TTL: the lease (and its key) must outlive it.
	start := time.Now()
	renewals := 0
	for time.Since(start) < 2*ttl || renewals < 4 {
		got, err := c.KeepAliveOnce(ctx, id)
		if err != nil {
			t.Fatalf("renewal %d: %v", renewals, err)
		}
		if got != ttl {
			t.Fatalf("renewal %d: TTL %s, want %s", renewals, got, ttl)
		}
		renewals++
		time.Sleep(ttl / 4) // paces renewals; nothing waits on it
	}
	if _, _, found, err := c.Get(ctx, "held"); err != nil || !found {
		t.Fatalf("key of a renewed lease after %d renewals: found %v, err %v", renewals, found, err)
	}
	if err := c.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeepAliveOnce(ctx, id); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("KeepAliveOnce after Revoke: %v, want ErrLeaseLost", err)
	}
	if err := c.Revoke(ctx, id); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("second Revoke: %v, want ErrLeaseLost", err)
	}
	if _, _, found, err := c.Get(ctx, "held"); err != nil || found {
		t.Fatalf("key of a revoked lease: found %v, err %v", found, err)
	}
	if _, _, err := c.Grant(ctx, 0); err == nil {
		t.Fatal("Grant(0) succeeded")
	}
}

// collect reads n events from w; a watch that misses them fails the test
// (after 30s) instead of hanging it.
func collect(t *testing.T, w *Watcher, n int) []Event {
	t.Helper()
	stop := time.AfterFunc(30*time.Second, func() { w.Close() })
	defer stop.Stop()
	var evs []Event
	for len(evs) < n {
		r, err := w.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", len(evs), err)
		}
		evs = append(evs, r.Events...)
	}
	return evs
}

func TestWatchPrefix(t *testing.T) {
	t.Parallel()
	_, c := startClient(t)
	ctx := t.Context()
	before, err := c.Put(ctx, "/p/old", "0", 0)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := c.Put(ctx, "/p/a", "1", 0)
	c.Put(ctx, "/q", "outside", 0)
	c.Put(ctx, "/p", "not under /p/", 0)
	rb, _ := c.Put(ctx, "/p/b", "2", 0)
	_, rd, err := c.Delete(ctx, "/p/a")
	if err != nil {
		t.Fatal(err)
	}

	w, err := c.Watch(ctx, "/p/", WatchOptions{Prefix: true, StartRevision: before + 1, PrevKV: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := collect(t, w, 3)
	want := []Event{
		{Type: EventPut, KV: KV{Key: "/p/a", Value: "1", CreateRevision: ra, ModRevision: ra, Version: 1}},
		{Type: EventPut, KV: KV{Key: "/p/b", Value: "2", CreateRevision: rb, ModRevision: rb, Version: 1}},
		{Type: EventDelete, KV: KV{Key: "/p/a", ModRevision: rd}, PrevKV: &KV{Key: "/p/a", Value: "1", CreateRevision: ra, ModRevision: ra, Version: 1}},
	}
	if err := sameEvents(got, want); err != nil {
		t.Fatal(err)
	}
	// And live: changes after the watch was created.
	rc, _ := c.Put(ctx, "/p/c", "3", 0)
	c.Put(ctx, "/r", "outside", 0)
	_, rd2, _ := c.Delete(ctx, "/p/c")
	got = collect(t, w, 2)
	want = []Event{
		{Type: EventPut, KV: KV{Key: "/p/c", Value: "3", CreateRevision: rc, ModRevision: rc, Version: 1}},
		{Type: EventDelete, KV: KV{Key: "/p/c", ModRevision: rd2}, PrevKV: &KV{Key: "/p/c", Value: "3", CreateRevision: rc, ModRevision: rc, Version: 1}},
	}
	if err := sameEvents(got, want); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := w.Next(); err == nil {
		t.Fatal("Next after Close: no error")
	}
}

func sameEvents(got, want []Event) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.KV != w.KV || (g.PrevKV == nil) != (w.PrevKV == nil) || g.PrevKV != nil && *g.PrevKV != *w.PrevKV {
			return fmt.Errorf("event %d: %v %+v prev %+v; want %v %+v prev %+v", i, g.Type, g.KV, g.PrevKV, w.Type, w.KV, w.PrevKV)
		}
	}
	return nil
}

func TestWatchCompacted(t *testing.T) {
	t.Parallel()
	_, c := startClient(t)
	ctx := t.Context()
	first, _ := c.Put(ctx, "k", "1", 0)
	c.Put(ctx, "k", "2", 0)
	last, err := c.Put(ctx, "k", "3", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, "k", WatchOptions{StartRevision: first})
	if err == nil {
		defer w.Close()
		_, err = w.Next()
	}
	var ce *CompactedError
	if !errors.Is(err, ErrCompacted) || !errors.As(err, &ce) || ce.CompactRevision != last {
		t.Fatalf("watch from compacted revision %d: %v; want ErrCompacted at %d", first, err, last)
	}
	// From the compaction revision on, history is still there.
	w, err = c.Watch(ctx, "k", WatchOptions{StartRevision: last})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if evs := collect(t, w, 1); evs[0].KV.Value != "3" {
		t.Fatalf("watch from %d: %+v", last, evs)
	}
}

// The first endpoint is dead: calls (and watches) go to the second.
func TestFailover(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t)
	dead := etcdtest.DeadEndpoint(t)
	c := newClient(t, Config{Endpoints: []string{dead, s.Endpoint}, RequestTimeout: 2 * time.Second})
	ctx := t.Context()
	rev, err := c.Put(ctx, "k", "v", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != s.Endpoint {
		t.Fatalf("endpoint in use %s, want %s", c.Endpoint(), s.Endpoint)
	}
	// A fresh client watching first.
	c2 := newClient(t, Config{Endpoints: []string{dead, s.Endpoint}})
	w, err := c2.Watch(ctx, "k", WatchOptions{StartRevision: rev})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if evs := collect(t, w, 1); evs[0].KV.Value != "v" {
		t.Fatalf("watch: %+v", evs)
	}
	// All dead: an error naming the endpoints' failure, no hang.
	c3 := newClient(t, Config{Endpoints: []string{dead}})
	if _, _, _, err := c3.Get(ctx, "k"); err == nil || !strings.Contains(err.Error(), "every endpoint failed") {
		t.Fatalf("Get with no live endpoint: %v", err)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	const password = "correct-horse-battery"
	s := etcdtest.StartWith(t, etcdtest.Options{RootPassword: password})
	ctx := t.Context()

	bad := newClient(t, Config{Endpoints: []string{s.Endpoint}, Username: etcdtest.RootUser, Password: "wrong-pass-123"})
	_, _, _, err := bad.Get(ctx, "k")
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v, want ErrAuthFailed", err)
	}
	if strings.Contains(err.Error(), "wrong-pass-123") || strings.Contains(err.Error(), password) {
		t.Fatalf("error shows the password: %v", err)
	}
	if _, err := bad.Watch(ctx, "k", WatchOptions{}); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("watch with a wrong password: %v", err)
	}

	anon := newClient(t, Config{Endpoints: []string{s.Endpoint}})
	if _, err := anon.Put(ctx, "k", "v", 0); err == nil {
		t.Fatal("Put without credentials succeeded")
	}

	c := newClient(t, Config{Endpoints: []string{s.Endpoint}, Username: etcdtest.RootUser, Password: password})
	rev, err := c.Put(ctx, "k", "v", 0)
	if err != nil {
		t.Fatal(err)
	}
	if kv, _, found, err := c.Get(ctx, "k"); err != nil || !found || kv.Value != "v" {
		t.Fatalf("Get: %+v %v %v", kv, found, err)
	}
	id, _, err := c.Grant(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeepAliveOnce(ctx, id); err != nil {
		t.Fatal(err)
	}

	// An expired or unknown token: the client authenticates again, once.
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"get", func() error { _, _, _, err := c.Get(ctx, "k"); return err }},
		{"watch", func() error {
			w, err := c.Watch(ctx, "k", WatchOptions{StartRevision: rev})
			if err != nil {
				return err
			}
			defer w.Close()
			_, err = w.Next()
			return err
		}},
	} {
		c.mu.Lock()
		c.token = "bogus.1"
		c.mu.Unlock()
		if err := call.f(); err != nil {
			t.Fatalf("%s with an invalid token: %v", call.name, err)
		}
		c.mu.Lock()
		tok := c.token
		c.mu.Unlock()
		if tok == "bogus.1" || tok == "" {
			t.Fatalf("%s: token %q after re-authentication", call.name, tok)
		}
	}
}

// etcd killed and restarted on its data: the client's next call works.
func TestRestart(t *testing.T) {
	t.Parallel()
	s, c := startClient(t)
	ctx := t.Context()
	if _, err := c.Put(ctx, "k", "before", 0); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, _, _, err := c.Get(dctx, "k")
	cancel()
	if err == nil {
		t.Fatal("Get while etcd is down succeeded")
	}
	s.Restart()
	kv, _, found, err := c.Get(ctx, "k")
	if err != nil || !found || kv.Value != "before" {
		t.Fatalf("first Get after restart: %+v %v %v", kv, found, err)
	}
	// And without a failed call in between (a pooled connection to the
	// killed process).
	s.Restart()
	if _, err := c.Put(ctx, "k", "after", 0); err != nil {
		t.Fatalf("first Put after a second restart: %v", err)
	}
}
