# Shared by the CI scripts that check a part with counted checks
# (packaging.sh, windows.sh, container.sh). Source it after setting PART (the
# name in each step's heading); it starts the part's clock.
#   step TEXT          a heading with the seconds since the part began
#   ok [TEXT]          counts a check (and prints TEXT when given)
#   fail TEXT          stops the script with TEXT on stderr
#   check TEXT CMD...  runs CMD: ok TEXT, or fail TEXT
#   need CMD PKG...    notes Debian packages PKG... when CMD is missing
#   install_needed     apt-get installs what need noted, idempotently
# shellcheck shell=bash
t0=$(date +%s)
checks=0
missing=()
step() { printf '\n== %s: %s (%ss)\n' "$PART" "$*" "$(($(date +%s) - t0))"; }
ok() {
	checks=$((checks + 1))
	if [ $# -gt 0 ]; then echo "ok: $*"; fi
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
need() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null || missing+=("$@")
}
install_needed() {
	if [ ${#missing[@]} -gt 0 ]; then
		echo "apt-get install ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
	fi
}
