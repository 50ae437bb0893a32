#!/usr/bin/env bash
# Packaging CI for bridged (issue #8), called by .ci/run. It installs what it
# needs, idempotently (Debian packages, a pinned nfpm, pinned npm linters, all
# outside the work tree), then checks:
#   0. the maintainer scripts and this one pass shellcheck;
#   1. `make release`: static binaries for linux/amd64, linux/arm64 and
#      windows/amd64 (-trimpath, stamped by -ldflags), the .deb and .rpm for
#      both Linux architectures, the Windows MSI and zip, SHA256SUMS;
#   2. reproducibility: the same commit built again from a copy of the tree at
#      another path gives byte-identical artifacts (the MSI: identical tables
#      and files; wixl stamps its summary with the time and a random package
#      code), and linux/amd64 built with an empty Go build cache gives the
#      same binary;
#   3. the systemd units as the .deb installs them: systemd-analyze verify of
#      bridged.socket and bridged.service (any warning fails) and security
#      (exposure at most 2.0), and the service's SystemCallFilter allows every
#      system call `bridged demo` makes;
#   4. the .deb: contents, modes, owners, conffiles, scripts; then installed
#      into a throwaway root (dpkg --root): install, upgrade (journal and the
#      edited config kept), remove (journal and config kept), purge (journal
#      kept), reinstall;
#   5. the .rpm: contents, modes, %config, scripts, and a file-level install
#      and erase in a throwaway root;
#   6. Windows: go vet (with the tests) for windows, the zip's contents, its config
#      passes check-config (.ci/windows.sh runs all of it under Wine);
#   7. the Dockerfile lints and keeps its promises (.ci/container.sh builds
#      and runs it).
# Environment: BRIDGED_CI_TOOLS (tool cache, default ~/.cache/bridged-ci),
# BRIDGED_REPRO_COLD=0 skips the empty-cache build (the slowest step).
set -euo pipefail
cd "$(dirname "$0")/.."

NFPM_VERSION=v2.45.2 # v2.46+ need modules the Go proxy does not serve
TOOLS="${BRIDGED_CI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/bridged-ci}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

PART=packaging
# shellcheck source=.ci/lib.sh
. .ci/lib.sh

# expect_mode PATH MODE OWNER:GROUP (numeric ids)
expect_mode() {
	local got
	got=$(stat -c '%a %u:%g' "$1") || fail "$1 missing"
	[ "$got" = "$2 $3" ] || fail "$1 is $got, want $2 $3"
	ok
}

step "tools"
need systemd-analyze systemd
need zip zip
need unzip unzip
need rpm rpm
need strace strace
need curl curl
need shellcheck shellcheck
need useradd passwd
need node nodejs npm
need wixl wixl
command -v msibuild >/dev/null && command -v msiinfo >/dev/null || missing+=(msitools)
install_needed
NFPM="$TOOLS/bin/nfpm"
if ! go version -m "$NFPM" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/goreleaser/nfpm/v2\s+$NFPM_VERSION\s"; then
	echo "go install nfpm@$NFPM_VERSION"
	GOBIN="$TOOLS/bin" go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
fi
LINT="$TOOLS/lint"
if ! cmp -s packaging/lint/package-lock.json "$LINT/package-lock.json" || [ ! -d "$LINT/node_modules" ]; then
	echo "npm ci (packaging/lint)"
	mkdir -p "$LINT"
	cp packaging/lint/package.json packaging/lint/package-lock.json "$LINT/"
	(cd "$LINT" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
fi

step "shell scripts (shellcheck)"
shellcheck -s sh packaging/scripts/postinstall.sh packaging/scripts/preremove.sh packaging/scripts/postremove.sh
shellcheck -S warning -x .ci/packaging.sh .ci/lib.sh .ci/windows.sh .ci/container.sh
ok

# One version, commit and timestamp for every build below.
VERSION=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
PKG_VERSION=${VERSION#v}
export SOURCE_DATE_EPOCH
mk() { make --no-print-directory NFPM="$NFPM" VERSION="$VERSION" COMMIT="$COMMIT" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"; }

step "make release ($VERSION)"
DIST="$WORK/dist"
mk release DIST="$DIST" >/dev/null
ls -l "$DIST"
for f in "bridged_${PKG_VERSION}_linux_amd64" "bridged_${PKG_VERSION}_linux_arm64" \
	"bridged_${PKG_VERSION}_windows_amd64.exe" "bridged_${PKG_VERSION}_windows_amd64.zip" \
	"bridged_${PKG_VERSION}_windows_amd64.msi" SHA256SUMS; do
	[ -s "$DIST/$f" ] || fail "make release did not produce $f"
	ok
done
DEB=$(ls "$DIST"/bridged_*_amd64.deb)
ls "$DIST"/bridged_*_arm64.deb "$DIST"/bridged-*.x86_64.rpm "$DIST"/bridged-*.aarch64.rpm >/dev/null
(cd "$DIST" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
[ "$(wc -l <"$DIST/SHA256SUMS")" -eq 9 ] || fail "SHA256SUMS should list 9 artifacts"
ok
# Every binary: static, trimmed (which also keeps -ldflags out of the build
# info), for its platform, stamped with the version and commit.
for bin in "$DIST"/bridged_*_linux_* "$DIST"/bridged_*_windows_amd64.exe; do
	info=$(go version -m "$bin")
	platform=$(basename "$bin" .exe | awk -F_ '{print "GOOS=" $3 " GOARCH=" $4}')
	for want in "-trimpath=true" "CGO_ENABLED=0" ${platform}; do
		grep -qE -- "\s$want$" <<<"$info" || fail "$bin: build info lacks $want"
	done
	grep -q -- "-ldflags" <<<"$info" && fail "$bin: build info shows -ldflags"
	for want in "$VERSION" "$COMMIT"; do
		grep -qaF -- "$want" "$bin" || fail "$bin is not stamped with $want"
	done
	ok
done
"$DIST/bridged_${PKG_VERSION}_linux_amd64" version | grep -qx "bridged $VERSION" || fail "version not stamped"
ok

step "reproducible: the same commit again, from another path"
COPY="$WORK/elsewhere/bridged-src"
mkdir -p "$COPY"
tar --exclude=./.git --exclude=./dist --exclude=node_modules -cf - . | tar -xf - -C "$COPY"
(cd "$COPY" && mk release DIST="$WORK/dist2" >/dev/null)
if ! diff <(grep -v '\.msi$' "$DIST/SHA256SUMS") <(grep -v '\.msi$' "$WORK/dist2/SHA256SUMS"); then
	fail "the second build differs"
fi
ok
# The MSI: every table and every file the same; only the summary (build
# time, package code) differs.
msidump_all() {
	rm -rf "$2" && mkdir -p "$2/tables" "$2/files"
	for t in $(msiinfo tables "$1" | grep -vx _SummaryInformation | LC_ALL=C sort); do msiinfo export "$1" "$t" >"$2/tables/$t.idt"; done
	msiextract -C "$2/files" "$1" >/dev/null
}
msidump_all "$DIST/bridged_${PKG_VERSION}_windows_amd64.msi" "$WORK/msi1"
msidump_all "$WORK/dist2/bridged_${PKG_VERSION}_windows_amd64.msi" "$WORK/msi2"
diff -r "$WORK/msi1" "$WORK/msi2" || fail "the second MSI differs in its tables or files"
[ "$(find "$WORK/msi1/tables" -name '*.idt' | wc -l)" -ge 20 ] || fail "too few MSI tables: $(ls "$WORK/msi1/tables")"
ok
if [ "${BRIDGED_REPRO_COLD:-1}" != 0 ]; then
	step "reproducible: linux/amd64 with an empty Go build cache"
	(cd "$COPY" && GOCACHE="$WORK/gocache" GOOS=linux GOARCH=amd64 mk build OUT="$WORK/bridged-cold")
	a=$(sha256sum <"$DIST/bridged_${PKG_VERSION}_linux_amd64" | cut -d' ' -f1)
	b=$(sha256sum <"$WORK/bridged-cold" | cut -d' ' -f1)
	echo "linux/amd64: $a (release), $b (empty cache, other path)"
	[ "$a" = "$b" ] || fail "the empty-cache build differs"
	rm -rf "$WORK/gocache"
	ok
fi
grep "_linux_amd64$\|_windows_amd64.exe$" "$DIST/SHA256SUMS"

step "deb: contents"
dpkg-deb -I "$DEB" >"$WORK/deb-info"
dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' | sed 's|^\([^ ]*\) \([^ ]*\) \./|\1 \2 /|' | LC_ALL=C sort >"$WORK/deb-contents"
cat "$WORK/deb-contents"
for want in \
	"-rwxr-xr-x root/root /usr/bin/bridged" \
	"-rw-r--r-- root/root /usr/lib/systemd/system/bridged.service" \
	"-rw-r--r-- root/root /usr/lib/systemd/system/bridged.socket" \
	"drwxr-xr-x root/root /etc/bridged/" \
	"-rw-r----- root/root /etc/bridged/bridged.yaml" \
	"-rw-r--r-- root/root /usr/share/doc/bridged/install.md"; do
	grep -qxF -- "$want" "$WORK/deb-contents" || fail "deb lacks: $want"
	ok
done
[ "$(grep -c -v '^d' "$WORK/deb-contents")" -eq 5 ] || fail "deb holds unexpected files"
dpkg-deb -f "$DEB" Package Version Architecture >"$WORK/deb-fields"
cat "$WORK/deb-fields"
grep -qx "Architecture: amd64" "$WORK/deb-fields" || fail "deb arch"
dpkg-deb --ctrl-tarfile "$DEB" | tar -t | grep -qx "./conffiles" || fail "deb has no conffiles"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx "/etc/bridged/bridged.yaml" || fail "config is not a conffile"
for s in postinst prerm postrm; do
	dpkg-deb --ctrl-tarfile "$DEB" | tar -tv "./$s" | grep -q '^-rwxr-xr-x' || fail "deb $s missing or not executable"
done
ok
# The packaged files are the repository's.
dpkg-deb -x "$DEB" "$WORK/x"
cmp "$WORK/x/usr/lib/systemd/system/bridged.service" packaging/systemd/bridged.service
cmp "$WORK/x/usr/lib/systemd/system/bridged.socket" packaging/systemd/bridged.socket
cmp "$WORK/x/etc/bridged/bridged.yaml" configs/bridged.example.yaml
cmp "$WORK/x/usr/bin/bridged" "$DIST/bridged_${PKG_VERSION}_linux_amd64"
ok

step "deb: install, upgrade, remove, purge in a throwaway root (dpkg --root)"
R="$WORK/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/etc" "$R/usr/lib/systemd"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$R/etc/shadow"
echo 'root:*::' >"$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
cp /etc/login.defs "$R/etc/"
# The targets the unit refers to, for systemd-analyze --root.
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
rm -f "$R/usr/lib/systemd/system/bridged.service" "$R/usr/lib/systemd/system/bridged.socket"
# The maintainer scripts act on $DPKG_ROOT; they run on this host.
dpkg_r() { dpkg --root="$R" --force-script-chrootless --log=/dev/null "$@"; }
status() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Status} ${Version}' bridged 2>/dev/null || echo unknown; }

dpkg_r -i "$DEB" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "dpkg -i"; }
grep -q "Before starting it" "$WORK/install.log" || fail "postinst did not say what to do next"
[ "$(status)" = "installed ${PKG_VERSION/-/\~}-1" ] || fail "status after install: $(status)"
uid=$(awk -F: '$1 == "bridged" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "bridged" { print $3 }' "$R/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "no bridged user or group"
[ "$uid" -lt 1000 ] || fail "bridged is not a system user (uid $uid)"
grep -q "^bridged:x:$uid:$gid:bridged payment bridge:/var/lib/bridged:/usr/sbin/nologin$" "$R/etc/passwd" || fail "bridged user entry: $(grep ^bridged: "$R/etc/passwd")"
expect_mode "$R/usr/bin/bridged" 755 0:0
expect_mode "$R/usr/lib/systemd/system/bridged.service" 644 0:0
expect_mode "$R/usr/lib/systemd/system/bridged.socket" 644 0:0
expect_mode "$R/etc/bridged" 755 0:0
expect_mode "$R/etc/bridged/bridged.yaml" 640 "0:$gid"
expect_mode "$R/var/lib/bridged" 700 "$uid:$gid"
expect_mode "$R/usr/share/doc/bridged/install.md" 644 0:0
[ "$(readlink "$R/etc/systemd/system/multi-user.target.wants/bridged.service")" = /usr/lib/systemd/system/bridged.service ] ||
	fail "not enabled"
[ "$(readlink "$R/etc/systemd/system/sockets.target.wants/bridged.socket")" = /usr/lib/systemd/system/bridged.socket ] ||
	fail "socket not enabled"
ok
# The template is refused until it is filled in, naming each placeholder.
if "$R/usr/bin/bridged" check-config -c "$R/etc/bridged/bridged.yaml" >"$WORK/check.out" 2>&1; then
	fail "the installed template passes check-config with its placeholders"
fi
for want in "api.keys[0].key: is still" "upstream.client_id: is still" "upstream.client_secret: is still" \
	"upstream.username: is still" "upstream.password: is still"; do
	grep -qF "$want" "$WORK/check.out" || { cat "$WORK/check.out"; fail "check-config does not say: $want"; }
done
sed -e 's/change-me-to-a-random-key-of-32-chars-or-more/0123456789abcdef0123456789abcdef/' -e 's/"your-[a-z-]*"/"filled-in"/' \
	"$R/etc/bridged/bridged.yaml" >"$WORK/filled.yaml"
chmod 0600 "$WORK/filled.yaml"
"$R/usr/bin/bridged" check-config -c "$WORK/filled.yaml" >/dev/null || fail "the installed template, filled in, does not check"
ok

echo "systemd-analyze verify / security on the installed units"
out=$(cd / && systemd-analyze verify --root="$R" bridged.socket bridged.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
ok
(cd / && systemd-analyze security --offline=yes --root="$R" --threshold=20 bridged.service) >"$WORK/security" 2>&1 ||
	{ cat "$WORK/security"; fail "exposure above 2.0"; }
tail -n 1 "$WORK/security"
ok

# Upgrade: the journal and the administrator's config edit survive.
head -c 65536 /dev/urandom >"$R/var/lib/bridged/bridged.db"
chown "$uid:$gid" "$R/var/lib/bridged/bridged.db"
chmod 0600 "$R/var/lib/bridged/bridged.db"
journal=$(sha256sum <"$R/var/lib/bridged/bridged.db")
echo "# edited by store IT" >>"$R/etc/bridged/bridged.yaml"
bin="$DIST/bridged_${PKG_VERSION}_linux_amd64"
ARCH=amd64 PKG_VERSION=99.0.0 BRIDGED_BIN="$bin" BRIDGED_YAML=configs/bridged.example.yaml \
	"$NFPM" package --config packaging/nfpm.yaml --packager deb --target "$WORK/upgrade.deb" >/dev/null
dpkg_r --force-confold -i "$WORK/upgrade.deb" >"$WORK/upgrade.log" 2>&1 || { cat "$WORK/upgrade.log"; fail "upgrade"; }
[ "$(status)" = "installed 99.0.0-1" ] || fail "status after upgrade: $(status)"
[ "$(sha256sum <"$R/var/lib/bridged/bridged.db")" = "$journal" ] || fail "upgrade changed the journal"
expect_mode "$R/var/lib/bridged/bridged.db" 600 "$uid:$gid"
tail -n 1 "$R/etc/bridged/bridged.yaml" | grep -q "edited by store IT" || fail "upgrade lost the config edit"
expect_mode "$R/etc/bridged/bridged.yaml" 640 "0:$gid"
[ -L "$R/etc/systemd/system/multi-user.target.wants/bridged.service" ] || fail "upgrade disabled the service"
[ "$(grep -c '^bridged:' "$R/etc/passwd")" -eq 1 ] || fail "upgrade duplicated the user"
ok

# Remove: program and unit go; config and journal stay.
dpkg_r -r bridged >/dev/null 2>&1 || fail "dpkg -r"
[ "$(status)" = "config-files 99.0.0-1" ] || fail "status after remove: $(status)"
for gone in /usr/bin/bridged /usr/lib/systemd/system/bridged.service /usr/lib/systemd/system/bridged.socket \
	/etc/systemd/system/multi-user.target.wants/bridged.service /etc/systemd/system/sockets.target.wants/bridged.socket; do
	[ ! -e "$R$gone" ] && [ ! -L "$R$gone" ] || fail "remove left $gone"
done
[ -f "$R/etc/bridged/bridged.yaml" ] || fail "remove deleted the config"
[ "$(sha256sum <"$R/var/lib/bridged/bridged.db")" = "$journal" ] || fail "remove touched the journal"
ok

# Purge: the config goes; the journal stays, always.
echo "BRIDGED_UPSTREAM_PASSWORD=x" >"$R/etc/bridged/bridged.env"
dpkg_r -P bridged >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "dpkg -P"; }
grep -q "journal in /var/lib/bridged was kept" "$WORK/purge.log" || fail "purge did not mention the kept journal"
[ "$(status)" = unknown ] || [ "$(status)" = "not-installed " ] || fail "status after purge: $(status)"
[ ! -e "$R/etc/bridged" ] || fail "purge left /etc/bridged: $(ls -A "$R/etc/bridged")"
[ "$(sha256sum <"$R/var/lib/bridged/bridged.db")" = "$journal" ] || fail "purge touched the journal"
ok

# Reinstall over the kept journal and account.
dpkg_r -i "$DEB" >/dev/null 2>&1 || fail "reinstall"
[ "$(awk -F: '$1 == "bridged" { print $3 }' "$R/etc/passwd")" = "$uid" ] || fail "reinstall changed the uid"
[ "$(sha256sum <"$R/var/lib/bridged/bridged.db")" = "$journal" ] || fail "reinstall touched the journal"
dpkg_r -P bridged >/dev/null 2>&1 || fail "final purge"
left=$(cd "$R" && find usr/bin usr/share/doc etc/bridged etc/systemd -name '*bridged*' 2>/dev/null || true)
[ -z "$left" ] || fail "purge left: $left"
ok

step "rpm: contents, and install/erase in a throwaway root"
RPM=$(ls "$DIST"/bridged-*.x86_64.rpm)
rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\n' "$RPM"
rpm -qlvp "$RPM" | awk '{print $1, $3, $4, $9}' | LC_ALL=C sort >"$WORK/rpm-contents"
for want in \
	"-rwxr-xr-x root root /usr/bin/bridged" \
	"-rw-r--r-- root root /usr/lib/systemd/system/bridged.service" \
	"-rw-r--r-- root root /usr/lib/systemd/system/bridged.socket" \
	"drwxr-xr-x root root /etc/bridged" \
	"-rw-r----- root root /etc/bridged/bridged.yaml" \
	"-rw-r--r-- root root /usr/share/doc/bridged/install.md"; do
	grep -qxF -- "$want" "$WORK/rpm-contents" || { cat "$WORK/rpm-contents"; fail "rpm lacks: $want"; }
	ok
done
rpm -qcp "$RPM" | grep -qx /etc/bridged/bridged.yaml || fail "config is not %config"
rpm -qp --scripts "$RPM" >"$WORK/rpm-scripts"
for s in "postinstall scriptlet" "preuninstall scriptlet" "postuninstall scriptlet"; do
	grep -q "$s" "$WORK/rpm-scripts" || fail "rpm lacks its $s"
done
ok
R2="$WORK/rpmroot"
mkdir -p "$R2"
# (Debian's rpm warns that it should not install packages: that is the point here.)
rpm --root="$R2" --initdb
rpm --root="$R2" -i --nodeps --noscripts "$RPM" 2>"$WORK/rpm.err" || { cat "$WORK/rpm.err"; fail "rpm -i"; }
expect_mode "$R2/usr/bin/bridged" 755 0:0
expect_mode "$R2/etc/bridged/bridged.yaml" 640 0:0
rpm --root="$R2" -e --noscripts bridged 2>"$WORK/rpm.err" || { cat "$WORK/rpm.err"; fail "rpm -e"; }
[ ! -e "$R2/usr/bin/bridged" ] && [ ! -e "$R2/usr/lib/systemd/system/bridged.service" ] || fail "rpm -e left files"
ok

step "the unit's SystemCallFilter allows every system call of bridged demo"
sfx() {
	systemd-analyze syscall-filter "$1" | tail -n +2 | sed -E 's/^\s+//; s/\s.*//' | grep -v -e '^#' -e '^$' |
		while read -r x; do case "$x" in @*) sfx "$x" ;; *) echo "$x" ;; esac; done
}
sfx @system-service | sort -u >"$WORK/allowed"
{ sfx @privileged; sfx @resources; } | sort -u >"$WORK/denied"
grep -qx 'SystemCallFilter=@system-service' packaging/systemd/bridged.service &&
	grep -qx 'SystemCallFilter=~@privileged @resources' packaging/systemd/bridged.service || fail "the filter this step checks is not the unit's"
strace -f -qq -o "$WORK/strace" "$DIST/bridged_${PKG_VERSION}_linux_amd64" demo --listen 127.0.0.1:0 >"$WORK/demo.out" 2>&1 &
demo=$!
for _ in $(seq 1 300); do
	grep -q "Press Ctrl-C" "$WORK/demo.out" && break
	kill -0 "$demo" 2>/dev/null || break
	sleep 0.1
done
key=$(grep -o -E 'BRIDGED_KEY=[0-9a-f]{64}' "$WORK/demo.out" | head -n 1 | cut -d= -f2) || true
base=$(grep -o -E '"listen":"[^"]+"' "$WORK/demo.out" | head -n 1 | sed -E 's/"listen":"(.*)"/http:\/\/\1/') || true
[ -n "$key" ] && [ -n "$base" ] || { cat "$WORK/demo.out"; fail "demo did not start"; }
curl -fsS "$base/healthz" >/dev/null
# A sale against the simulator: journal writes, fsync, the upstream client.
curl -sS -m 30 -H "Authorization: Bearer $key" -H "Idempotency-Key: ci-$$" -H 'Content-Type: application/json' \
	-H 'Prefer: wait=20' -d '{"amount":"10.00","currency":"TRY","reference":"ci-syscalls"}' "$base/v1/payments" >/dev/null || true
curl -fsS -H "Authorization: Bearer $key" "$base/v1/terminals" >/dev/null
kill -INT "$(awk 'NR == 1 { print $1 }' "$WORK/strace")" # bridged itself, not strace
wait "$demo" || true
sed -E -n 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$WORK/strace" | sort -u >"$WORK/used"
echo "$(wc -l <"$WORK/used") distinct system calls"
notallowed=$(comm -23 "$WORK/used" "$WORK/allowed")
denied=$(comm -12 "$WORK/used" "$WORK/denied")
[ -z "$notallowed" ] || fail "bridged uses system calls outside @system-service: $notallowed"
[ -z "$denied" ] || fail "bridged uses system calls the unit denies: $denied"
ok

step "Windows"
# The Windows code (the data-dir ACL) and its tests type-check for windows.
GOOS=windows GOARCH=amd64 go vet ./cmd/bridged ./internal/ossvc ./packaging/...
ok
unzip -Z1 "$DIST/bridged_${PKG_VERSION}_windows_amd64.zip" >"$WORK/zip-list"
printf '%s\n' bridged/bridged.exe bridged/bridged.yaml bridged/install.md |
	diff - "$WORK/zip-list" || fail "the Windows zip's contents"
unzip -q "$DIST/bridged_${PKG_VERSION}_windows_amd64.zip" -d "$WORK/win"
cmp "$WORK/win/bridged/bridged.exe" "$DIST/bridged_${PKG_VERSION}_windows_amd64.exe"
[ "$(head -c 2 "$WORK/win/bridged/bridged.exe")" = MZ ] || fail "bridged.exe is not a Windows program"
grep -qx "data_dir: 'C:\\\\ProgramData\\\\bridged'" "$WORK/win/bridged/bridged.yaml" || fail "Windows config data_dir"
grep -qx "  file: 'C:\\\\ProgramData\\\\bridged\\\\logs\\\\bridged.log'" "$WORK/win/bridged/bridged.yaml" || fail "Windows config log.file"
# The Windows template is refused until filled in, like the Linux one.
if "$DIST/bridged_${PKG_VERSION}_linux_amd64" check-config -c "$WORK/win/bridged/bridged.yaml" >"$WORK/wincheck.out" 2>&1; then
	fail "the Windows template passes check-config with its placeholders"
fi
grep -q "api.keys\[0\].key: is still the example's placeholder" "$WORK/wincheck.out" || { cat "$WORK/wincheck.out"; fail "Windows template: placeholder not named"; }
ok
MSI=$DIST/bridged_${PKG_VERSION}_windows_amd64.msi
msiextract -C "$WORK/msi" "$MSI" >/dev/null
cmp "$(find "$WORK/msi" -name bridged.exe)" "$DIST/bridged_${PKG_VERSION}_windows_amd64.exe" || fail "the MSI's bridged.exe is not the release exe"
cmp "$(find "$WORK/msi" -name bridged.example.yaml)" "$WORK/win/bridged/bridged.yaml" || fail "the MSI's example config is not the zip's"
msiinfo export "$MSI" Property | grep -qP "^ProductVersion\t$(grep -oE '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$PKG_VERSION" || echo 0.0.0)\r?$" ||
	fail "MSI ProductVersion"
ok

step "Dockerfile (linted; .ci/container.sh builds and runs it)"
"$LINT/node_modules/.bin/dockerfile-utils" lint Dockerfile || fail "dockerfile-utils lint"
[ "$(grep -c '^FROM ' Dockerfile)" -ge 2 ] || fail "Dockerfile is not multi-stage"
grep -q '^USER 65532:65532$' Dockerfile || fail "Dockerfile does not run as the non-root user"
grep -q '^VOLUME \["/var/lib/bridged"\]$' Dockerfile || fail "Dockerfile has no data volume"
grep -q '^HEALTHCHECK .*' Dockerfile && grep -q 'CMD \["/usr/local/bin/bridged-healthcheck"\]' Dockerfile || fail "Dockerfile HEALTHCHECK"
grep -q 'make build ' Dockerfile || fail "Dockerfile does not build with the Makefile's release flags"
! grep -q ':latest' Dockerfile || fail "Dockerfile uses a :latest image"
grep -q '^\.git$' .dockerignore || fail ".dockerignore"
ok

echo
echo "packaging took $(($(date +%s) - t0))s"
echo "packaging: $checks passed, 0 failed"
