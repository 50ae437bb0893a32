#!/usr/bin/env bash
# Lints the API document internal/server/openapi.yaml with Redocly CLI and the
# rules in .redocly.yaml; fails on any error or warning.
#
# Redocly CLI is installed once from the npm registry, at the pinned version,
# into a cache outside the repository (BRIDGED_CI_CACHE, default
# ~/.cache/bridged-ci) and reused on every later run. Nothing else is fetched:
# telemetry and update checks are off. Needs Node.js >= 20.19 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

REDOCLY_VERSION=2.77.0
spec=internal/server/openapi.yaml

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "openapi.sh: $tool is required (Node.js >= 20.19)" >&2; exit 1; }
done

cache="${BRIDGED_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bridged-ci}/redocly-cli-$REDOCLY_VERSION"
redocly="$cache/node_modules/.bin/redocly"

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if [ "$("$redocly" --version 2>/dev/null || true)" != "$REDOCLY_VERSION" ]; then
  # Install beside the cache and move it in place, so an interrupted install
  # never leaves a half-filled cache behind.
  tmp="$cache.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$tmp" && mkdir -p "$tmp"
  npm install --prefix "$tmp" --save-exact --ignore-scripts --no-audit --no-fund --loglevel=error \
    "@redocly/cli@$REDOCLY_VERSION" >&2
  rm -rf "$cache" && mv "$tmp" "$cache"
  trap - EXIT
fi

echo "redocly $("$redocly" --version 2>/dev/null) lint $spec"
"$redocly" lint --config .redocly.yaml --max-problems 100 "$spec"
