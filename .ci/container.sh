#!/usr/bin/env bash
# Container CI for bridged (issue #16), called by .ci/run: the Dockerfile is
# built with buildah (chroot isolation, never a pull) and the image run with
# podman on runc, here, without a Docker engine. It installs what it needs
# from Debian, idempotently. The Dockerfile's base images live on Docker Hub
# and gcr.io, which this machine cannot reach; the script makes local
# stand-ins under the same names once (kept in containers-storage for later
# runs; docs/windows.md, "Container image", says what they are):
#   golang:<GO_VERSION>-bookworm     Debian bookworm (mmdebstrap) with this
#                                    machine's Go, which must be GO_VERSION;
#   gcr.io/distroless/static-debian12:nonroot
#                                    base-files, netbase, tzdata, CA
#                                    certificates, user nonroot (65532).
# Checks: the image's config (user, entrypoint, cmd, volume, stop signal,
# health check), /var/lib/bridged 0700 and owned by 65532 in the image and in
# a new volume, the image's bridged byte-identical to `make build`; then a
# container against the simulator: /healthz, a sale approved, the health
# check healthy, runs as 65532, stops with a drain, and the journal survives
# a restart of the container and a new container on the same volume.
# Environment: BRIDGED_CTR_KEEP=1 keeps the image and the scratch folder.
set -euo pipefail
cd "$(dirname "$0")/.."

W=$(mktemp -d /tmp/bridged-container.XXXXXX)
PART=container
# shellcheck source=.ci/lib.sh
. .ci/lib.sh

GO_VERSION=$(sed -n 's/^ARG GO_VERSION=//p' Dockerfile)
GOLANG_IMG=docker.io/library/golang:${GO_VERSION}-bookworm
STATIC_IMG=gcr.io/distroless/static-debian12:nonroot
IMG=localhost/bridged:ci-$$
NAME=bridged-ci-$$
VOL=bridged-ci-data-$$
# runc, not crun (crun cannot set up this host's cgroups); limits runc may
# set here (the default RLIMIT_NOFILE/NPROC asks are refused: no
# CAP_SYS_RESOURCE); the host's network, so the container reaches the
# simulator on loopback and curl reaches the container. No health check
# timer (podman would ask systemd for one; there is no systemd here): the
# script runs the image's health check itself (podman healthcheck run).
RUN=(podman --runtime runc run --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 --network host --health-interval=disable)

step "tools"
need buildah buildah
need podman podman
need runc runc
need mmdebstrap mmdebstrap
need curl curl
install_needed
echo "$(buildah --version), $(podman --version), $(runc --version | head -n 1)"

sim=
cleanup() {
	local rc=$?
	podman rm -f "$NAME" >/dev/null 2>&1 || true
	podman volume rm -f "$VOL" >/dev/null 2>&1 || true
	[ -n "$sim" ] && { kill -INT "$sim" && wait "$sim"; } 2>/dev/null || true
	if [ "${BRIDGED_CTR_KEEP:-0}" = 1 ]; then
		echo "container: kept $IMG and $W"
	else
		podman rmi -f "$IMG" >/dev/null 2>&1 || true
		rm -rf "$W"
	fi
	exit $rc
}
trap cleanup EXIT

step "stand-in base images (made once, then kept)"
host_go=$(go env GOVERSION)
[ "$host_go" = "go$GO_VERSION" ] || fail "the builder stand-in copies this machine's Go ($host_go), but the Dockerfile wants go$GO_VERSION"
if ! podman image exists "$GOLANG_IMG"; then
	echo "making $GOLANG_IMG (Debian bookworm minbase + Go $GO_VERSION)"
	mmdebstrap --quiet --variant=minbase --include=make,ca-certificates,git --format=tar bookworm "$W/builder.tar" \
		"deb http://deb.debian.org/debian bookworm main" >"$W/mmdebstrap.log" 2>&1 ||
		{
			tail -n 20 "$W/mmdebstrap.log"
			fail "mmdebstrap"
		}
	podman import --change 'ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' --change "ENV GOLANG_VERSION=$GO_VERSION" --change 'WORKDIR /go' \
		"$W/builder.tar" "localhost/bridged-ci-bookworm:$$" >/dev/null
	rm -f "$W/builder.tar"
	c=$(buildah from --pull=never "localhost/bridged-ci-bookworm:$$")
	buildah copy --quiet "$c" "$(go env GOROOT)" /usr/local/go >/dev/null
	buildah commit --quiet --rm "$c" "$GOLANG_IMG" >/dev/null
	podman rmi "localhost/bridged-ci-bookworm:$$" >/dev/null
fi
if ! podman image exists "$STATIC_IMG"; then
	echo "making $STATIC_IMG (base-files, netbase, tzdata, CA certificates, nonroot 65532)"
	R=$W/static
	mkdir -p "$R/etc/ssl/certs" "$R/home/nonroot" "$R/tmp" "$W/debs"
	(cd "$W/debs" && apt-get download -qq base-files netbase tzdata >/dev/null 2>&1) || fail "apt-get download"
	for d in "$W"/debs/*.deb; do dpkg -x "$d" "$R"; done
	cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
	chmod 1777 "$R/tmp"
	chown 65532:65532 "$R/home/nonroot"
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$R/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$R/etc/group"
	c=$(buildah from scratch)
	buildah copy --quiet "$c" "$R" / >/dev/null
	buildah config --user 65532:65532 --workingdir /home/nonroot "$c"
	buildah commit --quiet --rm "$c" "$STATIC_IMG" >/dev/null
	rm -rf "$R" "$W/debs"
fi
check "base images present: $GOLANG_IMG, $STATIC_IMG" podman image exists "$GOLANG_IMG"
check "and $STATIC_IMG" podman image exists "$STATIC_IMG"

step "buildah bud of the Dockerfile (chroot isolation, no pull)"
VERSION=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
tb=$(date +%s)
# Mounted for the build only, the Dockerfile is as is: the host's CA bundle
# for `go mod download` (this network's TLS goes through a local CA), and
# this machine's Go module and build caches (the same Go version, checked
# above), so that the build stage does not compile everything again. The
# output does not depend on them: the binary is compared with make build.
buildah bud --pull=never --isolation chroot --format docker --layers=false \
	-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
	-v "$(go env GOMODCACHE):/go/pkg/mod" -v "$(go env GOCACHE):/root/.cache/go-build" \
	--build-arg VERSION="$VERSION" --build-arg COMMIT="$COMMIT" -t "$IMG" -f Dockerfile . >"$W/bud.log" 2>&1 ||
	{
		tail -n 30 "$W/bud.log"
		fail "buildah bud"
	}
echo "built in $(($(date +%s) - tb))s, $(podman image inspect "$IMG" --format '{{.Size}}') bytes"
cfg=$(podman image inspect "$IMG" --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .HealthCheck.Test}}')
echo "config: $cfg"
check "image config: user 65532, entrypoint, cmd, volume, SIGTERM, health check" test "$cfg" = \
	'65532:65532|["/usr/local/bin/bridged"]|["run","-c","/etc/bridged/bridged.yaml"]|{"/var/lib/bridged":{}}|SIGTERM|["CMD","/usr/local/bin/bridged-healthcheck"]'
m=$(podman image mount "$IMG")
check "/var/lib/bridged in the image: 0700, owned by 65532" test "$(stat -c '%a %u:%g' "$m/var/lib/bridged")" = "700 65532:65532"
check "/var/lib in the image: still root's, 0755" test "$(stat -c '%a %u:%g' "$m/var/lib")" = "755 0:0"
make --no-print-directory build OUT="$W/bridged-host" VERSION="$VERSION" COMMIT="$COMMIT" >/dev/null
check "the image's bridged is byte-identical to make build on the host" cmp -s "$m/usr/local/bin/bridged" "$W/bridged-host"
podman image unmount "$IMG" >/dev/null

step "the container against the simulator (podman, runc, host network)"
go build -o "$W/iyzico-sim" ./cmd/iyzico-sim
"$W/iyzico-sim" -listen 127.0.0.1:0 -card-wait 1s -quiet >"$W/sim.out" 2>&1 &
sim=$!
for _ in $(seq 1 100); do
	grep -q 'listening on' "$W/sim.out" && break
	sleep 0.1
done
simurl=$(grep -o 'http://127.0.0.1:[0-9]*' "$W/sim.out" | head -n 1) || fail "the simulator did not start"
# A port below the ephemeral range that nothing listens on.
while :; do
	port=$((10000 + RANDOM % 22000))
	(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
sed -e "s|^listen: .*|listen: 127.0.0.1:$port|" -e "s|change-me-to-a-random-key-of-32-chars-or-more|$key|" \
	-e "s|base_url: .*|base_url: $simurl|" -e 's|your-client-id|sim-client|' -e 's|your-client-secret|sim-secret|' \
	-e 's|your-merchant-user|sim-user|' -e 's|your-merchant-password|sim-password|' configs/bridged.example.yaml >"$W/bridged.yaml"
# As docs/install.md says: the config is the container user's (65532), mode
# 0600; bridged refuses one every user may read.
chown 65532:65532 "$W/bridged.yaml"
chmod 0600 "$W/bridged.yaml"
healthy() {
	for _ in $(seq 1 150); do
		curl -fs -m 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
journaled() { curl -fsS -m 10 -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/payments" | grep -q "\"reference\":\"$1\""; }
"${RUN[@]}" -d --name "$NAME" -e BRIDGED_HEALTH_URL="http://127.0.0.1:$port/healthz" \
	-v "$W/bridged.yaml:/etc/bridged/bridged.yaml:ro" -v "$VOL:/var/lib/bridged" "$IMG" >/dev/null 2>"$W/run.err" ||
	{
		cat "$W/run.err"
		fail "podman run"
	}
check "the container answers /healthz" healthy
st=$(curl -sS -m 40 -X POST "http://127.0.0.1:$port/v1/payments" -H "Authorization: Bearer $key" -H 'Idempotency-Key: CTR-1' \
	-H 'Content-Type: application/json' -H 'Prefer: wait=30' -d '{"amount":"12.00","reference":"CTR-1"}' |
	grep -o -m 1 '"status":"[a-z_]*"' | head -n 1 | cut -d'"' -f4)
check "sale CTR-1 through the container approved" test "$st" = approved
check "the image's health check: healthy" podman healthcheck run "$NAME"
check "runs as nonroot (65532)" bash -c "podman top '$NAME' user | tail -n 1 | grep -qw nonroot"
vol=$(podman volume inspect "$VOL" --format '{{.Mountpoint}}')
check "the new volume: 0700, owned by 65532" test "$(stat -c '%a %u:%g' "$vol")" = "700 65532:65532"
check "the journal is on the volume" test -s "$vol/bridged.db"
podman stop -t 30 "$NAME" >/dev/null 2>>"$W/podman.err"
check "podman stop: exit code 0" test "$(podman inspect "$NAME" --format '{{.State.ExitCode}}')" = 0
check "the daemon drained and logged stopped" bash -c "podman logs '$NAME' 2>&1 | tail -n 1 | grep -q '\"message\":\"stopped\"'"
podman start "$NAME" >/dev/null 2>>"$W/podman.err"
check "the container restarts" healthy
check "after the restart the journal still has CTR-1" journaled CTR-1
podman stop -t 30 "$NAME" >/dev/null 2>>"$W/podman.err"
podman rm "$NAME" >/dev/null 2>>"$W/podman.err"
"${RUN[@]}" -d --name "$NAME" -v "$W/bridged.yaml:/etc/bridged/bridged.yaml:ro" -v "$VOL:/var/lib/bridged" "$IMG" >/dev/null 2>>"$W/podman.err"
check "a new container on the same volume answers" healthy
check "and has CTR-1 in its journal" journaled CTR-1
podman stop -t 30 "$NAME" >/dev/null 2>>"$W/podman.err"

echo
echo "container took $(($(date +%s) - t0))s"
echo "container: $checks passed, 0 failed"
