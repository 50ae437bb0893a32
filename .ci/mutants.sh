#!/usr/bin/env bash
# Breaks each guarantee on purpose and checks that the suite meant to prove
# it fails. Each proof/mutants/*.patch names its suite and test filter in its
# header (and, optionally, env: the suite's size), and the failure it must
# produce (expect: an extended regex); the
# patch is applied to a scratch copy of the last commit (git worktree),
# never to the working tree. A mutant that its suite does not catch with the
# expected failure, or a patch that no longer applies, fails this script.
#
#   bash .ci/mutants.sh                  # every mutant
#   bash .ci/mutants.sh resend-unknown   # one
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=$(mktemp -d)
cleanup() { git -C "$root" worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT

declare -A pkg=([crash]=./proof/crash/ [chaos]=./proof/chaos/ [probe]=./proof/probe/ [model]=./proof/model/
  [payment]=./internal/payment/ [store]=./internal/store/ [cmd]=./cmd/bridged/)
caught=0 total=0
for patch in proof/mutants/*.patch; do
  name=$(basename "$patch" .patch)
  if [ $# -gt 0 ] && [[ ! " $* " =~ " $name " ]]; then continue; fi
  total=$((total + 1))
  suite=$(sed -n 's/^suite: //p' "$patch")
  filter=$(sed -n 's/^run: //p' "$patch")
  expect=$(sed -n 's/^expect: //p' "$patch")
  # env: (optional) the suite's size, e.g. PROOF_CRASH_SEEDS=4: a crash case's
  # random plan (an upstream fault on top) can hide a mutant from one seed.
  env=$(sed -n 's/^env: //p' "$patch")
  git worktree add --force --detach "$scratch/tree" HEAD >/dev/null 2>&1
  if ! git -C "$scratch/tree" apply "$root/$patch"; then
    echo "mutant $name: the patch no longer applies; update it"; exit 1
  fi
  log="$scratch/$name.log"
  set +e
  (cd "$scratch/tree" && env $env go test -count=1 -parallel 8 $filter "${pkg[$suite]}") >"$log" 2>&1
  rc=$?
  set -e
  failures=$(grep -c -- '--- FAIL' "$log" || true)
  if [ $rc -ne 0 ] && [ "$failures" -gt 0 ] && grep -qE -- "$expect" "$log"; then
    caught=$((caught + 1))
    first=$(grep -m1 -E -- "$expect" "$log" | sed -E 's/^ +//' | cut -c1-220)
    cases=$(grep -cE -- '--- FAIL: .*/[0-9]+ ' "$log" || true)
    echo "mutant $name: caught by the $suite suite ($failures failing tests, $cases failing cases); e.g. $first"
  else
    echo "mutant $name: NOT caught by the $suite suite with /$expect/ (exit $rc)"; grep -E -- '--- FAIL|\.go:[0-9]+: ' "$log" | head -20
  fi
  git worktree remove --force "$scratch/tree" >/dev/null
done
echo "mutants: $caught of $total caught"
[ "$caught" -eq "$total" ]
