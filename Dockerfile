# syntax=docker/dockerfile:1
#
# The vntana-webhooks image: the static binary on a minimal, non-root base.
#
#   docker build -t vntana-webhooks .                         # compiles from source
#   docker run --rm -v "$PWD:/repo" -w /repo vntana-webhooks plan
#
# Two images come out of this file:
#   the last stage (default)  distroless "static", user 65532: the binary, CA certificates,
#                             tzdata and /etc/passwd, nothing else (no shell);
#   --target alpine           the same binary on Alpine with sh, curl and jq, also as user
#                             65532, for CI systems that run a job's script inside its image
#                             (GitLab CI: examples/ci/gitlab-ci.yml).
#
# Where the binary comes from (build argument BINARY):
#   source (default)  compiled here, from this directory, as a static musl binary;
#   prebuilt          dist/<amd64|arm64>/vntana-webhooks from the build context: the release
#                     workflow passes the binaries it has already built, checksummed and
#                     attested, so the image holds exactly the released file and building it
#                     needs no compiler.
#
# Base images are pinned by tag, not by digest: their digests could not be verified when
# this file was written (no registry in reach), and a digest nobody checked is no pin. To pin
# one, take it from `docker buildx imagetools inspect IMAGE:TAG` and write IMAGE:TAG@sha256:...
# (tests/it/container.rs checks the tags and the shape of any digest).

ARG BINARY=source

# ---------------------------------------------------------------------------------------------
# The binary, compiled from source. Alpine's toolchain is musl, so the result is static.
# ---------------------------------------------------------------------------------------------
FROM rust:1.95-alpine AS source
# aws-lc-sys (rustls's crypto provider) compiles C with the system compiler: musl-dev for the
# C library, linux-headers for the kernel's.
RUN apk add --no-cache musl-dev linux-headers
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/vntana-webhooks /out/vntana-webhooks

# ---------------------------------------------------------------------------------------------
# The binary, prebuilt by the release workflow for the platform being built.
# ---------------------------------------------------------------------------------------------
FROM scratch AS prebuilt
ARG TARGETARCH
COPY --chmod=0755 dist/${TARGETARCH}/vntana-webhooks /out/vntana-webhooks

# The one the build argument names (BuildKit builds only the stages a target needs).
FROM ${BINARY} AS binary

# ---------------------------------------------------------------------------------------------
# --target alpine: with a shell, curl and jq.
# ---------------------------------------------------------------------------------------------
FROM alpine:3.23 AS alpine
ARG VERSION=dev
ARG SOURCE=""
RUN apk add --no-cache ca-certificates curl jq \
    && adduser -D -H -u 65532 -s /sbin/nologin nonroot
COPY --from=binary /out/vntana-webhooks /usr/local/bin/vntana-webhooks
LABEL org.opencontainers.image.title="vntana-webhooks" \
      org.opencontainers.image.description="GitOps controller for VNTANA webhooks: plan, apply and watch a YAML file of webhooks (with sh, curl and jq)" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}"
USER 65532:65532
WORKDIR /repo
ENTRYPOINT ["/usr/local/bin/vntana-webhooks"]
CMD ["--help"]

# ---------------------------------------------------------------------------------------------
# The default image.
# ---------------------------------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG SOURCE=""
COPY --from=binary /out/vntana-webhooks /usr/local/bin/vntana-webhooks
LABEL org.opencontainers.image.title="vntana-webhooks" \
      org.opencontainers.image.description="GitOps controller for VNTANA webhooks: plan, apply and watch a YAML file of webhooks" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}"
# Numeric, so that a runtime enforcing runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
WORKDIR /repo
ENTRYPOINT ["/usr/local/bin/vntana-webhooks"]
CMD ["--help"]
