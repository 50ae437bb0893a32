#!/usr/bin/env bash
# Windows CI for bridged (issue #16), called by .ci/run: what this Linux
# machine can prove about the Windows build, under Wine 8.0 (Debian 12).
# docs/windows.md says what each step proves, which workarounds are Wine's
# alone, and what only a real Windows PC can show. It installs what it needs
# from Debian, idempotently, and checks:
#   1. `make windows` (the Windows part of `make release`: exe, MSI, zip):
#      the exe says `signed: no`, carries no winesession test code, and the
#      MSI's tables are the package packaging/windows/bridged.wxs describes;
#   2. every package's Windows test binary under Wine (go test -exec): all
#      pass; the skips are printed with their reasons;
#   3. bridged.exe demo, a sale from Linux curl, Ctrl-C drains;
#   4. bridged.exe run against iyzico-sim.exe (both under Wine), the journal
#      in C:\ProgramData: a sale, a second process on the data dir refused,
#      a hard kill, and a restart that still has the sale (and replays it);
#   5. the service under Wine's SCM (the winesession test build): install,
#      start, /healthz, a sale, status, stop with drain, net start, restart,
#      uninstall keeping the journal;
#   6. the MSI under Wine's msiexec: install with CONFIG and LISTEN, service
#      running and answering, upgrade to a newer build keeping an edited
#      config and the journal, uninstall keeping both; a second install
#      without CONFIG creates the config from the example (random API key);
#   7. Authenticode: a throwaway certificate, `make windows SIGN_PKCS12=...`,
#      osslsigncode verify of the exe and the MSI, `signed: yes`.
# Environment: BRIDGED_CI_TOOLS (tool cache, default ~/.cache/bridged-ci);
# BRIDGED_WINE_KEEP=1 keeps the scratch folder (Wine prefix, logs).
set -euo pipefail
cd "$(dirname "$0")/.."

W=$(mktemp -d /tmp/bridged-windows.XXXXXX)
PART=windows
# shellcheck source=.ci/lib.sh
. .ci/lib.sh

step "tools"
[ -x /usr/lib/wine/wine64 ] || missing+=(wine64 wine)
need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64-win32
need wixl wixl
command -v msiinfo >/dev/null && command -v msibuild >/dev/null || missing+=(msitools)
need osslsigncode osslsigncode
need openssl openssl
need curl curl
need zip zip
install_needed
echo "$(/usr/lib/wine/wine64 --version), wixl $(wixl --version), $(osslsigncode --version 2>&1 | head -n 1)"

# Wine, with no display and no Mono/Gecko prompts. The prefix is new every
# run and removed at the end (with its wineserver).
export WINEPREFIX=$W/prefix WINEDEBUG=-all WINEARCH=win64 WINELOADER=/usr/lib/wine/wine64
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
C=$WINEPREFIX/drive_c
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do { kill -KILL "$p" && wait "$p"; } 2>/dev/null || true; done
	[ -d "$WINEPREFIX" ] && WINEPREFIX=$WINEPREFIX $wineserver -k 2>/dev/null || true
	if [ "${BRIDGED_WINE_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		echo "windows: scratch folder kept: $W"
		# On failure, what the failing step left, for the CI log.
		[ $rc -ne 0 ] && tail -n 15 "$W"/run*.log "$W"/demo.log "$C/ProgramData/bridged/logs/bridged.log" 2>/dev/null
	else
		rm -rf "$W"
	fi
	exit $rc
}
trap cleanup EXIT

# winpath FILE: the Windows path of a Linux file (Wine's Z: drive).
winpath() { printf 'Z:%s' "${1//\//\\}"; }
# freeport: a loopback port nothing listens on now, below the kernel's
# ephemeral range (32768-60999 here), so that no outgoing connection of
# another test on this machine holds it when the daemon binds it.
freeport() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
}
# healthy ADDR: /healthz answers 200 within 30 s.
healthy() {
	for _ in $(seq 1 150); do
		curl -fs -m 1 "http://$1/healthz" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
# down ADDR: nothing answers there within 30 s.
down() {
	for _ in $(seq 1 150); do
		curl -s -m 1 "http://$1/healthz" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}
# sale ADDR KEY REFERENCE AMOUNT: posts a sale, prints its status.
sale() {
	curl -sS -m 40 -X POST "http://$1/v1/payments" -H "Authorization: Bearer $2" -H "Idempotency-Key: $3" \
		-H 'Content-Type: application/json' -H 'Prefer: wait=30' -d "{\"amount\":\"$4\",\"reference\":\"$3\"}" |
		grep -o -m 1 '"status":"[a-z_]*"' | head -n 1 | cut -d'"' -f4
}
# journaled ADDR KEY REFERENCE: the daemon lists the operation.
journaled() {
	curl -fsS -m 10 -H "Authorization: Bearer $2" "http://$1/v1/payments" | grep -q "\"reference\":\"$3\""
}
# service_state: the SCM's state of bridged (RUNNING, STOPPED, ...) or "none".
service_state() {
	local out
	out=$($wine sc.exe query bridged 2>/dev/null) || {
		echo none
		return
	}
	grep -o 'STATE *: *[0-9]* *[A-Z_]*' <<<"$out" | awk '{print $NF}'
}
# reg_query KEY: the values of a registry key, or nothing.
reg_query() {
	local out
	out=$($wine reg.exe query "$1" 2>/dev/null) || return 0
	tr -d '\r' <<<"$out"
}
evkey='HKLM\System\CurrentControlSet\Services\EventLog\Application\bridged'
# listening PORT: something accepts on 127.0.0.1:PORT within 30 s.
listening() {
	for _ in $(seq 1 150); do
		(echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

step "Wine prefix, and the bcryptprimitives.dll stand-in"
$wine wineboot --init >"$W/wineboot.log" 2>&1
# The first boot leaves a wineserver running two services.exe: SCM calls
# then reach either, and a service just created "does not exist" for the
# next call. End it, and keep one persistent server (one SCM) for the run.
$wineserver -k || true
$wineserver -p
# Go >= 1.22's runtime needs bcryptprimitives.dll (ProcessPrng) at start-up;
# Wine 8.0 has none (Windows 10 and later do). This stand-in forwards to
# advapi32's RtlGenRandom, for this prefix only.
cat >"$W/bcryptprimitives.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
EOF
x86_64-w64-mingw32-gcc -O2 -shared -o "$C/windows/system32/bcryptprimitives.dll" "$W/bcryptprimitives.c" -ladvapi32
ok "Wine prefix with one SCM and the stand-in DLL"

step "builds: make windows (release flags), the winesession test build, iyzico-sim.exe"
VERSION=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
PKG_VERSION=${VERSION#v}
mk() { make --no-print-directory VERSION="$VERSION" COMMIT="$COMMIT" "$@"; }
mk windows DIST="$W/dist" >"$W/make-windows.log" 2>&1 || {
	cat "$W/make-windows.log"
	fail "make windows"
}
EXE=$W/dist/bridged_${PKG_VERSION}_windows_amd64.exe
MSI=$W/dist/bridged_${PKG_VERSION}_windows_amd64.msi
ZIP=$W/dist/bridged_${PKG_VERSION}_windows_amd64.zip
for f in "$EXE" "$MSI" "$ZIP"; do
	[ -s "$f" ] || fail "make windows did not produce $f"
done
ok "make windows: $(basename "$EXE"), $(basename "$MSI") ($(stat -c %s "$MSI") bytes), $(basename "$ZIP")"
# The Wine service build: the release's flags plus the winesession tag
# (internal/ossvc/winesession_windows.go). svcbuild VERSION OUT.
svcbuild() {
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -tags winesession -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.version=$1 -X main.commit=$COMMIT" -o "$2" ./cmd/bridged
}
svcbuild v0.0.1-wine "$W/bridged-svc-0.0.1.exe"
svcbuild v0.0.2-wine "$W/bridged-svc-0.0.2.exe"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -o "$W/iyzico-sim.exe" ./cmd/iyzico-sim
ok "winesession builds and iyzico-sim.exe"

step "the release exe: starts, unsigned and says so, without the Wine test code"
$wine "$EXE" version >"$W/version.out" 2>&1 || {
	cat "$W/version.out"
	fail "bridged.exe version"
}
tr -d '\r' <"$W/version.out" >"$W/version.txt"
cat "$W/version.txt"
check "bridged.exe version: $VERSION, windows/amd64" grep -qx "bridged $VERSION" "$W/version.txt"
check "bridged.exe version says signed: no" grep -qx "signed: no" "$W/version.txt"
check "osslsigncode finds no signature on the unsigned exe" bash -c "! osslsigncode verify -in '$EXE' >/dev/null 2>&1"
# The winesession code is not in the release: no build tag in its build
# info, not a byte of its probe, no line in version. The test build has all
# three, so each check is shown to see what it looks for.
check "release build info has no -tags" bash -c "! go version -m '$EXE' | grep -q -- '-tags'"
check "the test build's info has -tags=winesession" bash -c "go version -m '$W/bridged-svc-0.0.1.exe' | grep -q -- '-tags=winesession'"
check "release exe holds no wine_get_version probe" bash -c "! grep -qa wine_get_version '$EXE'"
check "the test build holds it" grep -qa wine_get_version "$W/bridged-svc-0.0.1.exe"
check "release version has no winesession line" bash -c "! grep -q winesession '$W/version.txt'"
check "the test build's version has it" bash -c "$wine '$W/bridged-svc-0.0.1.exe' version | grep -q '^build: winesession'"

step "the MSI's tables (msiinfo)"
tables() { msiinfo export "$1" "$2" | tail -n +4 | tr -d '\r'; }
tables "$MSI" ServiceInstall >"$W/msi-svc"
# Name, display name, type 16 (own process), start 2 (automatic), error
# control 1 (normal), LocalSystem, the config path, the exe's component.
check "MSI ServiceInstall: own process, automatic, LocalSystem, run -c the ProgramData config" \
	grep -qP '^BridgedService\tbridged\tbridged payment bridge\t16\t2\t1\t\t\tLocalSystem\t\trun -c "\[CommonAppDataFolder\]bridged\\bridged.yaml"\tBridgedExe\t' "$W/msi-svc"
# 162 = stop at install (2) and uninstall (32) + delete at uninstall (128);
# wait 1. No start at install (1): the custom action starts the service once
# its config is complete.
check "MSI ServiceControl: stop on both, remove on uninstall, wait; no start" \
	grep -qP '^BridgedControl\tbridged\t162\t\t1\tBridgedExe$' <(tables "$MSI" ServiceControl)
check "MSI custom action: bridged.exe install --registered, deferred, as SYSTEM" \
	grep -qP '^ConfigureService\t3090\tBridgedExeFile\tinstall --registered -c "\[CommonAppDataFolder\]bridged\\bridged.yaml" --config-from "\[CONFIG\]" --listen "\[LISTEN\]"' <(tables "$MSI" CustomAction)
tables "$MSI" InstallExecuteSequence | sort -t$'\t' -k3n >"$W/msi-seq"
check "custom action between InstallServices and StartServices, not at uninstall" \
	bash -c "awk -F'\t' '{print \$1 \":\" \$2}' '$W/msi-seq' | grep -A1 '^InstallServices:' | tail -n 1 | grep -qx 'ConfigureService:NOT REMOVE' &&
		awk -F'\t' '{print \$1}' '$W/msi-seq' | grep -A1 '^ConfigureService$' | tail -n 1 | grep -qx StartServices"
check "major upgrade: the old version is removed before the new one installs" \
	bash -c "awk -F'\t' '{print \$1}' '$W/msi-seq' | grep -A1 '^InstallValidate$' | tail -n 1 | grep -qx RemoveExistingProducts"
tables "$MSI" Upgrade >"$W/msi-upgrade"
check "major upgrade row: older and same versions replaced (513: migrate features, max inclusive)" \
	grep -qP '^\{6B1A0D2E-7C3F-4E5A-9B8C-1D2E3F4A5B6C\}\t\t[0-9.]+\t\t513\t\tWIX_UPGRADE_DETECTED$' "$W/msi-upgrade"
check "downgrade row: a newer installed version is detected" grep -qP '\t2\t\tWIX_DOWNGRADE_DETECTED$' "$W/msi-upgrade"
tables "$MSI" File | cut -f3 | sort >"$W/msi-files"
check "MSI files: bridged.exe, the example config, install.md; no bridged.yaml" \
	diff <(printf '%s\n' bridged.example.yaml bridged.exe install.md) "$W/msi-files"
check "MSI: CONFIG and LISTEN are secure properties" \
	grep -qP '^SecureCustomProperties\t.*;CONFIG;LISTEN$' <(tables "$MSI" Property)
check "MSI: the Event Log source, EventMessageFile REG_EXPAND_SZ" \
	grep -qP '\tSYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\bridged\tEventMessageFile\t#%%SystemRoot%\\System32\\EventCreate.exe\tEventSource$' <(tables "$MSI" Registry)
msiextract -C "$W/msi-x" "$MSI" >/dev/null
check "the MSI's bridged.exe is the release exe" cmp -s "$(find "$W/msi-x" -name bridged.exe)" "$EXE"

step "the Windows test binaries of every package, under Wine"
# go test -exec runs each package's windows test binary with Wine, in the
# package's directory. The -overlay (test builds only) makes Go's
# os.RemoveAll fall back when Wine answers STATUS_NOT_IMPLEMENTED to
# FileDispositionInformationEx (Windows 10 1709+ implements it): without it,
# every t.TempDir cleanup fails under Wine.
F=$(go env GOROOT)/src/internal/syscall/windows/at_windows.go
sed 's|^\t\tSTATUS_NOT_SUPPORTED:     // the file system.*|\t\tSTATUS_NOT_SUPPORTED, NTStatus(0xC0000002): // Wine 8: STATUS_NOT_IMPLEMENTED|' "$F" >"$W/at_windows.go"
grep -q 0xC0000002 "$W/at_windows.go" || fail "the at_windows.go overlay no longer applies to $(go version)"
printf '{"Replace":{"%s":"%s"}}\n' "$F" "$W/at_windows.go" >"$W/overlay.json"
printf '#!/bin/sh\nexec %s "$@"\n' "$wine" >"$W/wine-exec"
chmod +x "$W/wine-exec"
ts=$(date +%s)
set +e
GOOS=windows GOARCH=amd64 go test -exec "$W/wine-exec" -overlay "$W/overlay.json" -count=1 -p 2 -timeout 15m -v ./... >"$W/wine-tests.log" 2>&1
rc=$?
set -e
tr -d '\r' <"$W/wine-tests.log" >"$W/wine-tests.txt"
grep -E '^(ok|FAIL|---|\?) ' "$W/wine-tests.txt" | grep -Ev '^--- (PASS|SKIP)' | grep -E '^(ok|FAIL|\?|--- FAIL)' || true
npass=$(grep -cE '^\s*--- PASS' "$W/wine-tests.txt" || true)
nfail=$(grep -cE '^\s*--- FAIL' "$W/wine-tests.txt" || true)
nskip=$(grep -cE '^\s*--- SKIP' "$W/wine-tests.txt" || true)
echo "skipped under Wine, with the reason each test gives:"
awk '/^\s*--- SKIP/ {sub(/^\s+/, "", prev); print "  " $3 ": " prev} {prev = $0}' "$W/wine-tests.txt"
echo "tests under Wine: $npass passed, $nfail failed, $nskip skipped ($(($(date +%s) - ts))s)"
[ $rc -eq 0 ] && [ "$nfail" -eq 0 ] || fail "tests under Wine (go test exit $rc): see above"
[ "$npass" -ge 1000 ] || fail "only $npass tests passed under Wine"
ok "every package's tests pass under Wine"

step "bridged.exe demo: a sale from Linux curl"
port=$(freeport)
(cd "$W" && exec $wine "$EXE" demo --listen "127.0.0.1:$port" >demo.log 2>&1) &
demo=$!
pids+=("$demo")
for _ in $(seq 1 150); do
	grep -q "Press Ctrl-C" "$W/demo.log" 2>/dev/null && break
	sleep 0.2
done
key=$(grep -o -E 'BRIDGED_KEY=[0-9a-f]{64}' "$W/demo.log" | head -n 1 | cut -d= -f2) || true
[ -n "$key" ] || fail "the demo printed no API key"
check "demo /healthz" healthy "127.0.0.1:$port"
check "demo sale ECR-000001 approved" test "$(sale "127.0.0.1:$port" "$key" ECR-000001 149.90)" = approved
kill -INT "$demo"
rc=0
wait "$demo" || rc=$?
check "demo stops on Ctrl-C (CTRL_C_EVENT), drains, exits 0" test $rc -eq 0

step "bridged.exe run against iyzico-sim.exe: journal, file lock, kill, restart"
simport=$(freeport)
(cd "$W" && exec $wine iyzico-sim.exe -listen "127.0.0.1:$simport" -card-wait 1s -quiet >sim.log 2>&1) &
pids+=("$!")
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# conf LISTEN DATADIR: the Windows bundle's config against the simulator.
# Wine 8 keeps no file ACL: SetNamedSecurityInfo succeeds and the DACL read
# back is made from the Unix mode, always with Everyone: read. bridged's
# access check would refuse every config and data dir, so the configs run
# under Wine opt out of it (docs/windows.md: what Wine cannot prove).
wine_acl_optout='allow_open_permissions: true # Wine 8 keeps no file ACL'
conf() {
	local d=${2//\\/\\\\} # backslashes for sed's replacement
	sed -f packaging/windows/bridged-yaml.sed configs/bridged.example.yaml | sed \
		-e "s|^listen: .*|listen: $1|" -e "s|^data_dir: .*|data_dir: '$d'|" -e "s|  file: 'C:.*|  file: '$d\\\\logs\\\\bridged.log'|" \
		-e "s|change-me-to-a-random-key-of-32-chars-or-more|$key|" -e "s|base_url: .*|base_url: http://127.0.0.1:$simport|" \
		-e 's|your-client-id|sim-client|' -e 's|your-client-secret|sim-secret|' -e 's|your-merchant-user|sim-user|' \
		-e 's|your-merchant-password|sim-password|' -e "s|^allow_open_permissions: .*|$wine_acl_optout|"
}
port=$(freeport)
conf "127.0.0.1:$port" 'C:\ProgramData\bridged-run' >"$W/run.yaml"
check "the config checks on Windows" bash -c "$wine '$EXE' check-config -c '$(winpath "$W/run.yaml")' | head -n 1 | grep -q 'is valid'"
check "iyzico-sim.exe listens" listening "$simport"
(cd "$W" && exec $wine "$EXE" run -c run.yaml >run1.log 2>&1) &
r1=$!
pids+=("$r1")
check "run answers /healthz" healthy "127.0.0.1:$port"
check "sale W-1 approved" test "$(sale "127.0.0.1:$port" "$key" W-1 10.00)" = approved
out=$(timeout 60 $wine "$EXE" run -c "$(winpath "$W/run.yaml")" 2>&1 || true)
check "a second process on the same data dir is refused (journal locked)" grep -q "is locked: another bridged process" <<<"$out"
check "the first one still serves" healthy "127.0.0.1:$port"
kill -KILL "$r1"
wait "$r1" 2>/dev/null || true
check "killed (SIGKILL: no drain, no clean close)" down "127.0.0.1:$port"
(cd "$W" && exec $wine "$EXE" run -c run.yaml >run2.log 2>&1) &
r2=$!
pids+=("$r2")
check "restarted after the kill" healthy "127.0.0.1:$port"
check "the journal still has W-1" journaled "127.0.0.1:$port" "$key" W-1
check "W-1 again answers the journaled sale (approved, not charged twice)" test "$(sale "127.0.0.1:$port" "$key" W-1 10.00)" = approved
check "sale W-2 after the restart approved" test "$(sale "127.0.0.1:$port" "$key" W-2 11.00)" = approved
kill -INT "$r2"
rc=0
wait "$r2" || rc=$?
check "run stops on Ctrl-C and exits 0" test $rc -eq 0
check "and logged stopped" grep -q '"message":"stopped"' "$C/ProgramData/bridged-run/logs/bridged.log"

step "the service under Wine's SCM (winesession build)"
port=$(freeport)
mkdir -p "$C/Program Files/bridged" "$C/ProgramData/bridged"
cp "$W/bridged-svc-0.0.1.exe" "$C/Program Files/bridged/bridged.exe"
conf "127.0.0.1:$port" 'C:\ProgramData\bridged' >"$C/ProgramData/bridged/bridged.yaml"
exe='C:\Program Files\bridged\bridged.exe'
cfg='C:\ProgramData\bridged\bridged.yaml'
svclog=$C/ProgramData/bridged/logs/bridged.log
check "bridged.exe install -c (protects the data dir, registers the service)" $wine "$exe" install -c "$cfg"
reg=$(reg_query 'HKLM\System\CurrentControlSet\Services\bridged')
check "registered: automatic start, own process, LocalSystem, run -c the config" bash -c '
	grep -qE "Start\s+REG_DWORD\s+0x2$" <<<"$1" && grep -qE "Type\s+REG_DWORD\s+0x10$" <<<"$1" &&
	grep -qE "ObjectName\s+REG_SZ\s+LocalSystem$" <<<"$1" &&
	grep -qF "bridged.exe\" run -c C:\\ProgramData\\bridged\\bridged.yaml" <<<"$1"' _ "$reg"
check "the Event Log source is registered" grep -q EventMessageFile <<<"$(reg_query "$evkey")"
check "bridged.exe start" $wine "$exe" start
check "the service answers /healthz" healthy "127.0.0.1:$port"
check "SCM: RUNNING" test "$(service_state)" = RUNNING
check "sale SVC-1 through the service approved" test "$(sale "127.0.0.1:$port" "$key" SVC-1 42.00)" = approved
check "bridged.exe status: service running" bash -c "$wine '$exe' status -c '$cfg' | tr -d '\r' | grep -q '^service: running'"
check "bridged.exe stop" $wine "$exe" stop
check "nothing listens after the stop" down "127.0.0.1:$port"
check "SCM: STOPPED" test "$(service_state)" = STOPPED
check "the daemon drained and logged stopped" bash -c "tail -n 1 '$svclog' | grep -q '\"message\":\"stopped\"'"
check "net start bridged" bash -c "$wine net.exe start bridged >/dev/null 2>&1"
check "answers again" healthy "127.0.0.1:$port"
check "bridged.exe restart" $wine "$exe" restart
check "answers after restart, SVC-1 still journaled" journaled "127.0.0.1:$port" "$key" SVC-1
check "bridged.exe stop" $wine "$exe" stop
check "bridged.exe uninstall" $wine "$exe" uninstall
check "service gone from the SCM" test "$(service_state)" = none
check "bridged.exe status: not installed" bash -c "$wine '$exe' status -c '$cfg' 2>/dev/null | tr -d '\r' | grep -q '^service: not installed'"
check "journal and config kept after uninstall" test -s "$C/ProgramData/bridged/bridged.db" -a -s "$C/ProgramData/bridged/bridged.yaml"

step "the MSI under Wine's msiexec: install, upgrade, uninstall"
# The same package (packaging/windows/bridged.wxs, make msi), around the
# winesession builds 0.0.1 and 0.0.2 (the release exe cannot run as a
# service under Wine: see docs/windows.md).
rm -rf "$C/Program Files/bridged" "$C/ProgramData/bridged"
for v in 0.0.1 0.0.2; do
	mk msi DIST="$W/msi-$v" MSI_EXE="$W/bridged-svc-$v.exe" MSI_VERSION="$v" VERSION="v$v-wine" >"$W/make-msi-$v.log" 2>&1 ||
		{
			cat "$W/make-msi-$v.log"
			fail "make msi $v"
		}
done
msi1=$(ls "$W"/msi-0.0.1/*.msi)
msi2=$(ls "$W"/msi-0.0.2/*.msi)
port=$(freeport)
conf 127.0.0.1:8470 'C:\ProgramData\bridged' >"$W/store42.yaml"
ts=$(date +%s)
check "msiexec /i 0.0.1 /qn CONFIG=... LISTEN=..." $wine msiexec /i "$(winpath "$msi1")" /qn /l*v "$(winpath "$W/msi-install.log")" \
	CONFIG="$(winpath "$W/store42.yaml")" LISTEN="127.0.0.1:$port"
echo "msiexec /i took $(($(date +%s) - ts))s"
check "the config was created from CONFIG with LISTEN" bash -c "grep -qx 'listen: \"127.0.0.1:$port\"' '$C/ProgramData/bridged/bridged.yaml' &&
	grep -q 'sim-client' '$C/ProgramData/bridged/bridged.yaml'"
check "service RUNNING after the install" test "$(service_state)" = RUNNING
check "the MSI's service answers /healthz" healthy "127.0.0.1:$port"
reg=$(reg_query 'HKLM\System\CurrentControlSet\Services\bridged')
check "MSI service: automatic start, LocalSystem, run -c the ProgramData config" bash -c '
	grep -qE "Start\s+REG_DWORD\s+0x2$" <<<"$1" && grep -qE "ObjectName\s+REG_SZ\s+LocalSystem$" <<<"$1" &&
	grep -qF "run -c \"C:\\ProgramData\\bridged\\bridged.yaml\"" <<<"$1"' _ "$reg"
check "MSI: Event Log source registered (EventMessageFile REG_EXPAND_SZ)" grep -qE 'EventMessageFile\s+REG_EXPAND_SZ\s+%SystemRoot%\\System32\\EventCreate.exe' <<<"$(reg_query "$evkey")"
check "sale MSI-1 approved" test "$(sale "127.0.0.1:$port" "$key" MSI-1 15.00)" = approved
echo "# edited by store IT" >>"$C/ProgramData/bridged/bridged.yaml"
cp "$C/ProgramData/bridged/bridged.yaml" "$W/edited.yaml"
ts=$(date +%s)
check "msiexec /i 0.0.2 /qn (major upgrade)" $wine msiexec /i "$(winpath "$msi2")" /qn /l*v "$(winpath "$W/msi-upgrade.log")"
echo "upgrade took $(($(date +%s) - ts))s"
check "upgraded: the installed bridged.exe is 0.0.2" bash -c "$wine 'C:\\Program Files\\bridged\\bridged.exe' version | tr -d '\r' | grep -qx 'bridged v0.0.2-wine'"
check "the edited config survived the upgrade, byte for byte" cmp -s "$W/edited.yaml" "$C/ProgramData/bridged/bridged.yaml"
check "service RUNNING after the upgrade" test "$(service_state)" = RUNNING
check "the upgraded service answers" healthy "127.0.0.1:$port"
check "the journal still has MSI-1" journaled "127.0.0.1:$port" "$key" MSI-1
check "one bridged product installed, not two" test "$($wine reg.exe query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | tr -d '\r' | grep -cE 'DisplayName\s+REG_SZ\s+bridged$')" = 1
ts=$(date +%s)
check "msiexec /x /qn" $wine msiexec /x "$(winpath "$msi2")" /qn /l*v "$(winpath "$W/msi-uninstall.log")"
echo "uninstall took $(($(date +%s) - ts))s"
check "service removed" test "$(service_state)" = none
check "the daemon drained and logged stopped" bash -c "tail -n 1 '$svclog' | grep -q '\"message\":\"stopped\"'"
check "program removed" test ! -e "$C/Program Files/bridged/bridged.exe"
check "Event Log source removed" test -z "$(reg_query "$evkey")"
check "config kept (with the edit) and journal kept" bash -c "cmp -s '$W/edited.yaml' '$C/ProgramData/bridged/bridged.yaml' && test -s '$C/ProgramData/bridged/bridged.db'"
# No CONFIG: the config is made from the example beside bridged.exe, with a
# random API key in place of the example's; the journal from before is used.
rm "$C/ProgramData/bridged/bridged.yaml"
port=$(freeport)
check "msiexec /i 0.0.2 /qn LISTEN=... (no CONFIG)" $wine msiexec /i "$(winpath "$msi2")" /qn LISTEN="127.0.0.1:$port"
check "config made from the example: random API key, LISTEN" bash -c "grep -qE '^      key: \"[0-9a-f]{64}\"$' '$C/ProgramData/bridged/bridged.yaml' &&
	! grep -q change-me '$C/ProgramData/bridged/bridged.yaml' && grep -qx 'listen: \"127.0.0.1:$port\"' '$C/ProgramData/bridged/bridged.yaml'"
check "installed, not started: the iyzico credentials are still the example's" test "$(service_state)" = STOPPED
msicfg="$C/ProgramData/bridged/bridged.yaml"
out=$($wine "$C/Program Files/bridged/bridged.exe" start -c "$(winpath "$msicfg")" 2>&1 || true)
check "bridged.exe start -c refuses, naming the placeholders" grep -q "upstream.client_id: is still the example's placeholder" <<<"$out"
check "still stopped" test "$(service_state)" = STOPPED
sed -i -e "s|base_url: .*|base_url: http://127.0.0.1:$simport|" -e 's|your-client-id|sim-client|' -e 's|your-client-secret|sim-secret|' \
	-e 's|your-merchant-user|sim-user|' -e 's|your-merchant-password|sim-password|' -e "s|^allow_open_permissions: .*|$wine_acl_optout|" "$msicfg"
check "credentials filled in: bridged.exe start -c" $wine "$C/Program Files/bridged/bridged.exe" start -c "$(winpath "$msicfg")"
check "the service runs with them" healthy "127.0.0.1:$port"
check "msiexec /x /qn" $wine msiexec /x "$(winpath "$msi2")" /qn
check "service removed, journal kept" bash -c "[ \"\$(ls '$C/Program Files/bridged' 2>/dev/null)\" = '' ] && test -s '$C/ProgramData/bridged/bridged.db'"
check "service gone" test "$(service_state)" = none

step "Authenticode: make windows SIGN_PKCS12=... with a throwaway certificate"
openssl req -x509 -newkey rsa:3072 -sha256 -days 2 -nodes -subj "/CN=bridged CI test signing $(date +%s)" \
	-addext "extendedKeyUsage=codeSigning" -keyout "$W/sign.key" -out "$W/sign.crt" 2>/dev/null
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/sign.pass"
openssl pkcs12 -export -inkey "$W/sign.key" -in "$W/sign.crt" -passout "file:$W/sign.pass" -out "$W/sign.p12"
mk windows DIST="$W/signed" SIGN_PKCS12="$W/sign.p12" SIGN_PASSWORD_FILE="$W/sign.pass" >"$W/make-signed.log" 2>&1 || {
	cat "$W/make-signed.log"
	fail "make windows SIGN_PKCS12"
}
SEXE=$W/signed/bridged_${PKG_VERSION}_windows_amd64.exe
SMSI=$W/signed/bridged_${PKG_VERSION}_windows_amd64.msi
# verify FILE: osslsigncode's verdict on FILE's signature, against the test CA.
verify() { osslsigncode verify -CAfile "$W/sign.crt" -in "$1" >"$W/verify.out" 2>&1; }
check "osslsigncode verify: bridged.exe" verify "$SEXE"
check "signed by the test certificate, SHA-256" grep -q 'Subject: /CN=bridged CI test signing' "$W/verify.out"
check "osslsigncode verify: the MSI" verify "$SMSI"
msiextract -C "$W/smsi-x" "$SMSI" >/dev/null
check "the signed MSI holds the signed exe" cmp -s "$(find "$W/smsi-x" -name bridged.exe)" "$SEXE"
check "the signed zip holds the signed exe" bash -c "unzip -p '$W/signed/bridged_${PKG_VERSION}_windows_amd64.zip' bridged/bridged.exe | cmp -s - '$SEXE'"
check "the signed exe runs and says signed: yes" bash -c "$wine '$SEXE' version | tr -d '\r' | grep -qx 'signed: yes'"
cp "$SEXE" "$W/tampered.exe"
printf 'x' | dd of="$W/tampered.exe" bs=1 seek=4096 conv=notrunc 2>/dev/null
check "a changed byte breaks the signature" bash -c "! osslsigncode verify -CAfile '$W/sign.crt' -in '$W/tampered.exe' >/dev/null 2>&1"
cp "$SMSI" "$W/tampered.msi"
printf 'x' | dd of="$W/tampered.msi" bs=1 seek=$(($(stat -c %s "$SMSI") / 2)) conv=notrunc 2>/dev/null
check "and in the MSI too" bash -c "! osslsigncode verify -CAfile '$W/sign.crt' -in '$W/tampered.msi' >/dev/null 2>&1"

echo
echo "windows took $(($(date +%s) - t0))s"
echo "windows: $checks passed, 0 failed"
