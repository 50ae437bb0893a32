#!/usr/bin/env bash
# Dead code guard: every function of the product must be reachable from a
# program (cmd/bridged, cmd/iyzico-sim) or from their tests. A function only
# other packages' tests call is a dead twin in waiting (the review of issue
# 19: Store.TerminalDay, upstream.ClassOf); one nothing calls is dead. Each
# finding fails CI unless .ci/deadcode.allow lists it with its reason.
#
#   bash .ci/deadcode.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DEADCODE_VERSION=v0.52.0 # golang.org/x/tools
TOOLS="${BRIDGED_CI_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/bridged-ci}"
DEADCODE="$TOOLS/bin/deadcode"
if ! go version -m "$DEADCODE" 2>/dev/null | grep -Eq "^\s+mod\s+golang.org/x/tools\s+$DEADCODE_VERSION\s"; then
	echo "go install deadcode@$DEADCODE_VERSION"
	GOBIN="$TOOLS/bin" go install "golang.org/x/tools/cmd/deadcode@$DEADCODE_VERSION"
fi

module=$(go list -m)
found=$("$DEADCODE" -test -f '{{range .Funcs}}{{printf "%s %s\n" $.Path .Name}}{{end}}' ./cmd/... | sed "s#^$module/##" | sort -u)
allowed=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' .ci/deadcode.allow | awk '{print $1, $2}' | sort -u)
unlisted=$(comm -23 <(printf '%s\n' "$found" | sed '/^$/d') <(printf '%s\n' "$allowed"))
stale=$(comm -13 <(printf '%s\n' "$found" | sed '/^$/d') <(printf '%s\n' "$allowed"))
if [ -n "$stale" ]; then
	echo "deadcode: .ci/deadcode.allow lists what is no longer unreachable; remove it:"
	echo "$stale"
	exit 1
fi
if [ -n "$unlisted" ]; then
	echo "deadcode: unreachable from cmd/... and its tests (delete it, or list it in .ci/deadcode.allow with the reason):"
	echo "$unlisted"
	exit 1
fi
echo "deadcode: nothing unreachable beyond the $(printf '%s\n' "$allowed" | sed '/^$/d' | wc -l) allowed"
