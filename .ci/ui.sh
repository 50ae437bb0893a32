#!/usr/bin/env bash
# The status page in a real browser: installs Debian's Chromium (once) and
# runs the headless-Chromium test of GET /, which must run, not skip.
# BRIDGED_SCREENSHOT_DIR, when set, receives the screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin=""
for c in "${BRIDGED_CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
    chromium_bin=$(command -v "$c")
    break
  fi
done
if [ -z "$chromium_bin" ] || ! fc-list 2>/dev/null | grep -qi dejavu; then
  echo "installing chromium and fonts (apt)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fontconfig >/dev/null
  chromium_bin=$(command -v chromium)
fi
"$chromium_bin" --version 2>/dev/null || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
BRIDGED_CHROMIUM="$chromium_bin" go test -race -count=1 -run 'TestStatusPage' ./cmd/bridged/ ./internal/server/ -v 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
if grep -q -- '--- SKIP: TestStatusPageChromium' "$log" || ! grep -q -- '--- PASS: TestStatusPageChromium' "$log"; then
  echo "TestStatusPageChromium did not run: the status page was not checked in a browser"
  exit 1
fi
