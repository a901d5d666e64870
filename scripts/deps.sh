#!/bin/sh
# Installs what the test suite needs and this machine lacks, so that the
# README's test command works on a fresh Debian machine with Go. Every step
# checks first, so re-running it costs a few milliseconds. Each pattern adds
# the servers its tests need as one `need PACKAGE COMMAND...` line below.
set -eu
cd "$(dirname "$0")/.."
scripts/install-podman.sh

# need PACKAGE COMMAND...: queue Debian's PACKAGE for installation unless
# every COMMAND is already there (/usr/sbin and /sbin included, where Debian
# puts daemons such as nutcracker, and which a non-root PATH may lack).
missing=
need() {
	pkg=$1
	shift
	for cmd in "$@"; do
		if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
			missing="$missing $pkg"
			return 0
		fi
	done
	echo "deps: $pkg already installed"
}

# tini and tini-static (Debian's tini package ships both): the reference
# internal/bench/runstart compares `podkit run` with.
need tini tini tini-static
# memcached and nutcracker (twemproxy): the servers of the memcache-proxy
# tests (pkg/memcacheproxy/hashkit runs nutcracker side by side) and bench.
need memcached memcached
need nutcracker nutcracker
# rsyslog: the syslog server the logsaver syslog sink's tests write to
# (internal/syslogtest runs its own rsyslogd -n on a loopback port).
need rsyslog rsyslogd
# git (its daemon and http-backend): the real repositories and servers of
# gitsync's tests (internal/gittest); the product itself needs no git.
need git git
# etcd (Debian's etcd-server: /usr/bin/etcd): the real server of the elector's
# tests (internal/etcdtest runs its own on loopback ports).
need etcd-server etcd

if [ -n "$missing" ]; then
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install:$missing" >&2; exit 1; }
		sudo=sudo
	fi
	command -v apt-get >/dev/null 2>&1 || { echo "deps: no apt-get; install$missing yourself" >&2; exit 1; }
	# Refresh the package lists only when they do not know a package yet.
	for pkg in $missing; do
		if ! apt-cache show "$pkg" >/dev/null 2>&1; then
			$sudo apt-get update
			break
		fi
	done
	echo "deps: installing$missing"
	# Lists old enough to name a version the mirror dropped: refresh, retry.
	# shellcheck disable=SC2086 # $missing is a word list
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
		{ $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
fi

# need_go MODULE@VERSION COMMAND: go install a reference tool unless COMMAND
# is on PATH or in $(go env GOPATH)/bin, where tests look for it too.
need_go() {
	gobin=$(go env GOPATH)/bin
	if PATH="$PATH:$gobin" command -v "$2" >/dev/null 2>&1; then
		echo "deps: $2 already installed"
		return 0
	fi
	echo "deps: go install $1"
	if go install "$1"; then
		return 0
	fi
	# The proxy serves some modules' versions but not their version list,
	# which go install reads for deprecations: build from the downloaded
	# module instead (it ships its go.sum).
	echo "deps: go install refused; building $1 from the module cache"
	dir=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { echo "deps: cannot download $1" >&2; exit 1; }
	(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$gobin/$2" .)
}

# statsd_exporter: the reference metrics-adapter's mapping tests run side by
# side (issue 5).
need_go github.com/prometheus/statsd_exporter@v0.31.0 statsd_exporter
# json_exporter: the reference of the metrics-adapter's JSON scrape adapter,
# run side by side (pkg/metrics-adapter/scrape). graphite_exporter, the
# Graphite input's reference, is not served by the module proxy at all: its
# side-by-side tests run only with -tags graphite_exporter.
need_go github.com/prometheus-community/json_exporter@v0.7.0 json_exporter
# versitygw: the S3-compatible server of the logsaver s3 sink's tests
# (internal/s3test). A large build (about 45 s).
need_go github.com/versity/versitygw/cmd/versitygw@v1.8.0 versitygw
