// Package hook runs the post-sync hooks of podkit gitsync: the "tell the app
// a new tree is there" half of the sidecar pattern (Burns & Oppenheimer 2016,
// section 4.1). It replaces kubernetes/git-sync v4's --webhook-* and
// --exechook-* flags (git-sync's pkg/hook) with the same semantics:
//
//   - Webhook sends METHOD URL with header Gitsync-Hash: HASH and no body;
//     the run succeeds on SuccessStatus, or on any outcome when
//     SuccessStatus is 0 or -1 (fire-and-forget).
//   - Exec runs Command, without a shell or arguments, in the new worktree
//     with GITSYNC_HASH=HASH added to the environment; exit status 0 succeeds.
//
// A Queue feeds one Runner. Send never blocks the syncer; the Queue runs
// each new hash once, in the order they were synced, and retries a failed
// run after a backoff until it succeeds. A hash that is still waiting, or
// being retried, when a newer one arrives is abandoned: its tree is no
// longer the one served, so only the newest hash matters and at most one is
// kept. As in git-sync, a hook may still see a hash more than once (after a
// restart, say), so hooks must be idempotent.
//
// For git-sync's --one-time, call the Runner directly: there is nothing to
// queue.
package hook
