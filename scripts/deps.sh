#!/bin/sh
# Installs what the test suite needs and this machine lacks, so that the
# README's test command works on a fresh Debian machine with Go. Every step
# checks first, so re-running it costs a few milliseconds. Later patterns add
# their servers here (memcached, etcd, ...).
set -eu
cd "$(dirname "$0")/.."
scripts/install-podman.sh

# tini and tini-static (Debian's tini package ships both): the reference
# internal/bench/runstart compares `podkit run` with.
if command -v tini >/dev/null 2>&1 && command -v tini-static >/dev/null 2>&1; then
	echo "deps: tini already installed"
else
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install tini" >&2; exit 1; }
		sudo=sudo
	fi
	command -v apt-get >/dev/null 2>&1 || { echo "deps: no apt-get; install tini yourself" >&2; exit 1; }
	# Refresh the package lists only when they do not know tini yet.
	if ! apt-cache show tini >/dev/null 2>&1; then
		$sudo apt-get update
	fi
	echo "deps: installing tini"
	# Lists old enough to name a version the mirror dropped: refresh, retry.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini ||
		{ $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini; }
fi
