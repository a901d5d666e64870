#!/bin/sh
# Installs what the image build and internal/imagetest need (podman, runc,
# uidmap) on Debian/Ubuntu, only the ones missing, so `make deps` is cheap to
# re-run. Configuration is not done here: scripts/podman-env.sh keeps it out
# of /etc.
set -eu

missing=
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v newuidmap >/dev/null 2>&1 || missing="$missing uidmap"

if [ -z "$missing" ]; then
	echo "install-podman: podman, runc and uidmap already installed"
	exit 0
fi

sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-podman: need root or sudo to install:$missing" >&2; exit 1; }
	sudo=sudo
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-podman: no apt-get; install$missing yourself" >&2; exit 1; }

echo "install-podman: installing$missing"
$sudo apt-get update
# shellcheck disable=SC2086 # $missing is a word list
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
