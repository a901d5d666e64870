// Package imagetest checks the podkit container image end to end: it builds
// the image from the repository's Dockerfile with podman, offline, from a
// freshly built static binary, and runs it the way Pods do (read-only root,
// numeric non-root user, no network). It has no non-test code; run it with
// `go test ./internal/imagetest` after `make deps` has installed podman.
package imagetest
