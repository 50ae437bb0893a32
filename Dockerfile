# syntax=docker/dockerfile:1
#
# bridged in a container, for lab and CI use: integration tests of an ECR,
# demos, a simulator-backed sandbox. The product that runs beside a cash
# register is the Windows or Linux service (docs/install.md), not this image.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t bridged .
#   docker run -d --name bridged --network host \
#     -v "$PWD/bridged.yaml:/etc/bridged/bridged.yaml:ro" -v bridged-data:/var/lib/bridged bridged
#
# It listens where the config says, 127.0.0.1:8470 by default: reachable only
# from inside the container, or from the host with --network host. To publish
# a port (-p 8470:8470) set `listen: 0.0.0.0:8470` and `allow_non_loopback: true`
# in the config, deliberately. The journal is the volume /var/lib/bridged
# (data_dir must stay /var/lib/bridged).

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=v0.0.0-dev
ARG COMMIT=unknown
# The release build (Makefile): static, -trimpath, stamped by -ldflags.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build OUT=/out/bridged VERSION=$VERSION COMMIT=$COMMIT \
 && CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags '-s -w -buildid=' \
      -o /out/bridged-healthcheck ./packaging/docker/healthcheck \
 && mkdir -p /out/var-lib/bridged && chmod 0700 /out/var-lib/bridged

# Static binaries need no libc: distroless "static" brings CA certificates
# (for iyzico's HTTPS), tzdata and the unprivileged user 65532, and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridged /usr/local/bin/bridged
COPY --from=build /out/bridged-healthcheck /usr/local/bin/bridged-healthcheck
# The journal's directory, 0700 and the runtime user's. It is copied as an
# entry of /out/var-lib/ so that its own mode comes along: copying a
# directory's contents (COPY /out/data /var/lib/bridged) creates the target
# 0755, and a new volume takes that mode (.ci/container.sh checks both).
COPY --from=build --chown=65532:65532 /out/var-lib/ /var/lib/
USER 65532:65532
VOLUME ["/var/lib/bridged"]
EXPOSE 8470
# /healthz needs no API key. If the config listens elsewhere, set
# BRIDGED_HEALTH_URL (e.g. -e BRIDGED_HEALTH_URL=http://127.0.0.1:9000/healthz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/bridged-healthcheck"]
# SIGTERM makes bridged drain (up to 15 s): give `docker stop` at least that,
# e.g. docker stop -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/bridged"]
CMD ["run", "-c", "/etc/bridged/bridged.yaml"]
