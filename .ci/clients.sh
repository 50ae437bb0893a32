#!/usr/bin/env bash
# Generates TypeScript clients from the API document internal/server/openapi.yaml
# with the two generators ECR developers use, openapi-typescript (its default
# options) and @hey-api/openapi-ts, and compiles the documented minimal sale
# (docs/api.md) against both with tsc --strict. A field with a default that a
# generator made required, or a schema a generator cannot read, fails here.
#
# The tools come from the npm registry at the versions pinned in
# .ci/clients/package-lock.json (npm ci), into a cache outside the work tree
# (BRIDGED_CI_CACHE, default ~/.cache/bridged-ci). Needs Node.js >= 20.19 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "clients.sh: $tool is required (Node.js >= 20.19)" >&2; exit 1; }
done
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

cache="${BRIDGED_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bridged-ci}/clients"
if ! cmp -s .ci/clients/package-lock.json "$cache/package-lock.json" || [ ! -d "$cache/node_modules" ]; then
  echo "npm ci (.ci/clients)"
  rm -rf "$cache" && mkdir -p "$cache"
  cp .ci/clients/package.json .ci/clients/package-lock.json "$cache/"
  (cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp .ci/clients/*.ts .ci/clients/tsconfig.json "$work/"
ln -s "$cache/node_modules" "$work/node_modules"
spec="$PWD/internal/server/openapi.yaml"

echo "openapi-typescript $("$cache/node_modules/.bin/openapi-typescript" --version 2>/dev/null | tail -n 1)"
# From the work dir: openapi-typescript would take the repository's .redocly.yaml
# (the lint rules of .ci/openapi.sh) as its own.
(cd "$work" && "$cache/node_modules/.bin/openapi-typescript" "$spec" -o gen/openapi-typescript/schema.ts >/dev/null)
echo "@hey-api/openapi-ts $(node -p "require('$cache/node_modules/@hey-api/openapi-ts/package.json').version")"
(cd "$work" && "$cache/node_modules/.bin/openapi-ts" -i "$spec" -o gen/hey-api >/dev/null)
echo "tsc $("$cache/node_modules/.bin/tsc" --version)"
(cd "$work" && "$cache/node_modules/.bin/tsc" -p tsconfig.json)
echo "clients: the minimal sale compiles against both generated clients"
