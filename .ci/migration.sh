#!/usr/bin/env bash
# The migration to schema v3 of big journals made by the older code itself:
# 100,000 operations journaled by d63fd60 (schema v1) and by a06471f
# (schema v2), with internal/store/testdata/oldjournal/main.go run in a
# worktree of each commit; then TestMigrateBigJournal migrates a copy of each
# and checks every operation, key, index, mark and the chain.
#
#   bash .ci/migration.sh                      # 100,000 operations each
#   MIGRATION_OPS=20000 bash .ci/migration.sh  # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${MIGRATION_OPS:-100000}
tmp=$(mktemp -d)
cleanup() {
  for c in d63fd60 a06471f; do git worktree remove --force "$tmp/$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
for c in d63fd60 a06471f; do
  if ! git cat-file -e "$c^{commit}" 2>/dev/null; then
    echo "commit $c is not in this clone's history: the migration test needs it (clone without --depth)" >&2
    exit 1
  fi
  git worktree add --detach "$tmp/$c" "$c" >/dev/null
  mkdir -p "$tmp/$c/cmd/oldjournal"
  cp internal/store/testdata/oldjournal/main.go "$tmp/$c/cmd/oldjournal/main.go"
  start=$(date +%s)
  (cd "$tmp/$c" && go run ./cmd/oldjournal/main.go -dir "$tmp/journal-$c" -ops "$ops" -terminals 64 -per-day 250 -writers 512)
  echo "journal of $ops operations made by $c in $(( $(date +%s) - start ))s: $(du -h "$tmp/journal-$c/bridged.db" | cut -f1)"
  BRIDGED_MIGRATION_JOURNAL="$tmp/journal-$c" go test -count=1 -timeout 30m -run '^TestMigrateBigJournal$' -v ./internal/store/ |
    grep -E '^(--- |ok|FAIL|PASS)|migrated'
done
