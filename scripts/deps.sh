#!/bin/sh
# Installs what the test suite needs and this machine lacks, so that the
# README's test command works on a fresh Debian machine with Go. Every step
# checks first, so re-running it costs a few milliseconds. Later patterns add
# their servers here (memcached, etcd, ...).
set -eu
cd "$(dirname "$0")/.."
scripts/install-podman.sh
