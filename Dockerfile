# Two ways to get the binary into the same final image:
#
#   docker build .                                        # compile in golang (needs a registry)
#   podman build --build-arg BIN_FROM=build .             # the same with podman/buildah, see below
#   scripts/build-image.sh    # podman, BIN_FROM=prebuilt: `make build`'s bin/podkit plus the host's CA bundle
#
# The prebuilt path is what scripts/build-image.sh (make image) uses on
# machines that reach the Go module proxy but no container registry. It
# relies on the builder skipping stages the target does not depend on:
# BuildKit does, and so does buildah/podman (checked with podman 4.3.1 /
# buildah 1.28 under --pull=never, which fails if the golang stage is used).
#
# buildah 1.28 works out stage dependencies from --build-arg values only, not
# from ARG defaults: without an explicit BIN_FROM it skips the build stage and
# then looks for an image called "build". Always pass BIN_FROM to podman.

# Global ARGs: they must precede the first FROM to be usable in FROM lines.
ARG GO_VERSION=1.26.8
ARG BIN_FROM=build

# Every "bin" candidate stage leaves the same two files in /out, so the final
# stage does not care where they came from.
FROM docker.io/library/golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
ARG VERSION=dev
ARG COMMIT=unknown
# Same flags as `make build`: static, reproducible paths, stamped version.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/podkit/podkit/internal/cli.Version=${VERSION} -X github.com/podkit/podkit/internal/cli.Commit=${COMMIT}" \
      -o /out/podkit ./cmd/podkit \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

# FROM scratch is not an image pull, so this stage works offline. The CA
# bundle is staged next to the binary by scripts/build-image.sh because
# nothing in this stage can provide one.
FROM scratch AS prebuilt
COPY bin/podkit /out/podkit
COPY bin/ca-certificates.crt /out/ca-certificates.crt

# COPY --from cannot expand ARGs, so the choice is made by aliasing a stage.
FROM ${BIN_FROM} AS bin

FROM scratch
COPY --from=bin /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=bin /out/podkit /podkit
# Numeric, so Kubernetes runAsNonRoot can verify it without an /etc/passwd.
USER 65532:65532
# Labels last: they change every commit and would otherwise bust the COPY cache.
ARG VERSION=dev
ARG COMMIT=unknown
# No LICENSE file in the repository yet; set it here (or with --build-arg) once there is one.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="podkit" \
      org.opencontainers.image.description="Static localhost helper daemons to run as extra containers in Kubernetes Pods and compose projects" \
      org.opencontainers.image.source="https://github.com/podkit/podkit" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
ENTRYPOINT ["/podkit"]
CMD ["--help"]
