# podkit. `make demo` runs the local demo; `make test` installs what the tests
# need and runs them. See README.md.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
PKG       := github.com/podkit/podkit
LDFLAGS   := -s -w -X $(PKG)/internal/cli.Version=$(VERSION) -X $(PKG)/internal/cli.Commit=$(COMMIT)
BIN       := bin/podkit
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
HEALTHCPU_DURATION ?= 60s
MCBENCH_DURATION ?= 3s
MCBENCH_ROUNDS   ?= 3
MCBENCH_SETTLE   ?= 35s
MABENCH_ROUNDS   ?= 3
MABENCH_STEP     ?= 1s
MABENCH_STEPS    ?= 5
MABENCH_BUFFERS  ?= default,4MiB
MABENCH_SCRAPES  ?= 10
MABENCH_TIMER_SERIES  ?= 100000
MABENCH_TIMER_SCRAPES ?= 5
LOGBENCH_LINES    ?= 2000000
LOGBENCH_ROUNDS   ?= 3
LOGBENCH_DURATION ?= 6s
LOGBENCH_RATE     ?= 20000
LOGBENCH_OUTAGE   ?= 4s
LOGBENCH_TARGETS  ?= podkit,reference
LOGBENCH_FLAGS    ?=
GITBENCH_ROUNDS    ?= 3
GITBENCH_FILES     ?= 5000
GITBENCH_FILE_SIZE ?= 10240
GITBENCH_COMMITS   ?= 500
GITBENCH_PUSHES    ?= 10
GITBENCH_PERIOD    ?= 100ms
GITBENCH_IDLE      ?= 10s
GITBENCH_TARGETS   ?= podkit,git
GITBENCH_ROOT_DIR  ?=
GITBENCH_FLAGS     ?=
IMAGE         ?= podkit:dev
IMAGE_ARCHIVE ?= bin/podkit-image.tar

.PHONY: all build test test-go test-deploy deps bench footprint healthcpu runstart mcbench mabench logbench gitbench lint fuzz demo image clean

all: build

# One static binary: no cgo, no dynamic section (checked by internal/imagetest).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/podkit

# The README's test command.
test: deps test-go test-deploy

test-go:
	$(GO) test -race -count=1 ./...

# deploy/ is its own module, so the examples' heavy validators (k8s.io/api,
# compose-go) never enter the product's dependency graph.
test-deploy:
	cd deploy && $(GO) test -race -count=1 ./...

deps:
	scripts/deps.sh

bench: build footprint runstart healthcpu mcbench mabench logbench gitbench

footprint:
	$(GO) run ./internal/bench/footprint -bin $(BIN)

# podkit health with 50 HTTP checks at 1s: CPU, RSS, endpoint latency while
# checks hang; podkit's default GOGC (50) and Go's (100).
healthcpu:
	$(GO) run ./internal/bench/healthcpu -bin $(BIN) -duration $(HEALTHCPU_DURATION)
	$(GO) run ./internal/bench/healthcpu -bin $(BIN) -duration $(HEALTHCPU_DURATION) -gogc 100

# podkit run vs tini (make deps installs it): start-to-exit and signal forwarding.
runstart:
	$(GO) run ./internal/bench/runstart -bin $(BIN) -go $(GO)

# podkit memcache-proxy vs nutcracker (twemproxy) vs one memcached directly
# (make deps installs both servers): ops/s, p99, proxy CPU and RSS (issue 4).
mcbench: build
	$(GO) run ./internal/bench/mcbench -bin $(BIN) -duration $(MCBENCH_DURATION) -rounds $(MCBENCH_ROUNDS) -settle $(MCBENCH_SETTLE)

# podkit metrics-adapter vs prometheus/statsd_exporter v0.31.0 (make deps
# installs it), alternating in one run: highest UDP rate under 0.1% loss at
# the OS default and a 4 MiB read buffer, CPU per million lines, TCP, RSS at
# 1k and 100k series and across scrapes, /metrics time at 100k (issue 5).
# The load generator alone: go run ./internal/bench/statsdload -h.
mabench: build
	$(GO) run ./internal/bench/mabench -bin $(BIN) -rounds $(MABENCH_ROUNDS) -step $(MABENCH_STEP) -steps $(MABENCH_STEPS) \
	  -buffers $(MABENCH_BUFFERS) -scrapes $(MABENCH_SCRAPES) -timer-series $(MABENCH_TIMER_SERIES) -timer-scrapes $(MABENCH_TIMER_SCRAPES)

# podkit logsaver (issue 6): delivered lines/s to the http and file sinks,
# CPU per million lines, peak RSS, and the fault scenarios (rotation by
# rename, copytruncate and delete; kill -9s; sink outages), each checked
# line by line for loss, next to a naive reference shipper. More flags
# (-sinks, -scenarios, -kills, -max-buffer, -json, -keep): LOGBENCH_FLAGS,
# or go run ./internal/bench/logbench -h.
logbench: build
	$(GO) run ./internal/bench/logbench -bin $(BIN) -lines $(LOGBENCH_LINES) -rounds $(LOGBENCH_ROUNDS) -duration $(LOGBENCH_DURATION) \
	  -rate $(LOGBENCH_RATE) -outage $(LOGBENCH_OUTAGE) -targets $(LOGBENCH_TARGETS) $(LOGBENCH_FLAGS)

# podkit gitsync vs a git-CLI loop (ls-remote, fetch --depth 1, worktree add,
# ln + mv -T) on a 5,000-file, 50 MB, 500-commit repository served by git
# daemon on loopback, with git-sync v4.7.1's figures from the issue as a
# reference row: initial sync, peak RSS, push->swap latency, idle CPU and
# RSS, disk after the pushes. GITBENCH_ROOT_DIR=/dev/shm measures on tmpfs;
# more flags (-podkit-args, -gap, -json, -keep): GITBENCH_FLAGS, or
# go run ./internal/bench/gitbench -h.
gitbench: build
	$(GO) run ./internal/bench/gitbench -bin $(BIN) -rounds $(GITBENCH_ROUNDS) -files $(GITBENCH_FILES) -file-size $(GITBENCH_FILE_SIZE) \
	  -commits $(GITBENCH_COMMITS) -pushes $(GITBENCH_PUSHES) -period $(GITBENCH_PERIOD) -idle $(GITBENCH_IDLE) \
	  -targets $(GITBENCH_TARGETS) $(if $(GITBENCH_ROOT_DIR),-root-dir $(GITBENCH_ROOT_DIR)) $(GITBENCH_FLAGS)

lint:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

# Every fuzz target for FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build
	cd deploy && CGO_ENABLED=0 $(GO) run -trimpath ./examples/quickstart -podkit ../$(BIN)

image: build
	IMAGE=$(IMAGE) VERSION=$(VERSION) COMMIT=$(COMMIT) IMAGE_ARCHIVE=$(IMAGE_ARCHIVE) scripts/build-image.sh

clean:
	rm -rf bin
