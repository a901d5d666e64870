#!/bin/sh
# Builds the podkit image with podman from the binary `make build` left in
# bin/podkit, without pulling any image (see the Dockerfile's prebuilt stage).
#
#   scripts/build-image.sh                 # tag podkit:dev
#   IMAGE=podkit:1.2.3 scripts/build-image.sh
#   IMAGE_ARCHIVE=bin/podkit-image.tar scripts/build-image.sh   # also save an OCI archive
#
# VERSION and COMMIT (the image labels) default to what bin/podkit reports,
# so the labels cannot disagree with the binary they describe.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/podman-env.sh

image=${IMAGE:-podkit:dev}
bin=bin/podkit
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

[ -x "$bin" ] || { echo "build-image: $bin missing: run 'make build' first" >&2; exit 1; }
[ -r "$ca" ] || { echo "build-image: no CA bundle at $ca: install ca-certificates or set CA_BUNDLE" >&2; exit 1; }
command -v podman >/dev/null 2>&1 || { echo "build-image: podman not found: run 'make deps'" >&2; exit 1; }

# The prebuilt stage can only COPY from the build context, so stage the host's
# CA bundle next to the binary.
cp "$ca" bin/ca-certificates.crt

if [ -z "${VERSION:-}" ] || [ -z "${COMMIT:-}" ]; then
	# "podkit VERSION (commit COMMIT, go…, os/arch)"; fails for a cross-built binary, hence the fallbacks.
	reported=$("$bin" version 2>/dev/null | sed -n 's/^podkit \([^ ]*\) (commit \([^,]*\),.*/\1 \2/p') || reported=
	VERSION=${VERSION:-${reported%% *}}
	COMMIT=${COMMIT:-${reported#* }}
fi

# --pull=never turns any accidental dependency on a registry image into an
# error instead of a hang. --layers is explicit because buildah 1.28 with
# --layers=false fails ("identifier is not an image") cleaning up the
# aliased `bin` stage.
podman build \
	--pull=never \
	--layers=true \
	--build-arg BIN_FROM=prebuilt \
	--build-arg "VERSION=${VERSION:-dev}" \
	--build-arg "COMMIT=${COMMIT:-unknown}" \
	--tag "$image" \
	--file Dockerfile \
	.

if [ -n "${IMAGE_ARCHIVE:-}" ]; then
	rm -f "$IMAGE_ARCHIVE"
	podman save --format oci-archive --output "$IMAGE_ARCHIVE" "$image"
	echo "build-image: saved $image to $IMAGE_ARCHIVE"
fi
