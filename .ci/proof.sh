#!/usr/bin/env bash
# The proof suites of docs/reliability.md at CI's sizes: the crash matrix
# (1,200 cases), the journal's upkeep cut short (40 cases), a short soak, the
# chaos day, the model test (300 random histories and the regression seeds),
# the security probes, a flood of 20,000 keyless connections, the fuzz seed
# corpora, then the secret and card scanner over everything the suites
# captured. Each suite adds one summary line, printed at the end.
#
#   bash .ci/proof.sh                       # CI's sizes
#   PROOF_CRASH_SEEDS=5 PROOF_MODEL_HISTORIES=30 bash .ci/proof.sh   # a quicker run
#   PROOF_MODEL_BASE=$RANDOM bash .ci/proof.sh   # other model histories than CI's
set -euo pipefail
cd "$(dirname "$0")/.."

PROOF_CAPTURE_DIR=$(mktemp -d)
PROOF_SUMMARY=$(mktemp)
export PROOF_CAPTURE_DIR PROOF_SUMMARY
trap 'rm -rf "$PROOF_CAPTURE_DIR" "$PROOF_SUMMARY"' EXIT

run() { printf -- '-- %s\n' "$*"; "$@"; }

run env PROOF_CRASH_SEEDS="${PROOF_CRASH_SEEDS:-50}" \
  go test -count=1 -timeout 45m -parallel "${PROOF_PARALLEL:-8}" -run '^TestCrashMatrix$' ./proof/crash/
run env PROOF_CRASH_SEEDS="${PROOF_UPKEEP_SEEDS:-5}" \
  go test -count=1 -timeout 20m -parallel "${PROOF_PARALLEL:-8}" -run '^TestCrashJournalUpkeep$' ./proof/crash/
run env PROOF_SOAK="${PROOF_SOAK:-20s}" go test -count=1 -timeout 30m -run '^TestSoak$' ./proof/crash/
run env PROOF_CHAOS_SALES="${PROOF_CHAOS_SALES:-40}" go test -count=1 -timeout 20m -run '^TestChaosDay$' ./proof/chaos/
run env PROOF_MODEL_HISTORIES="${PROOF_MODEL_HISTORIES:-300}" PROOF_MODEL_BASE="${PROOF_MODEL_BASE:-1}" \
  go test -count=1 -timeout 30m -parallel "${PROOF_MODEL_PARALLEL:-6}" -run '^TestModel$/^(random|regress)$' ./proof/model/
run go test -count=1 -run '^(TestProbes|TestSocketActivation)$' ./proof/probe/
run env PROOF_FLOOD_CONNS="${PROOF_FLOOD_CONNS:-20000}" PROOF_FLOOD_SECONDS="${PROOF_FLOOD_SECONDS:-12}" \
  go test -count=1 -run '^TestFlood$' ./proof/probe/
fuzz=$(bash .ci/fuzz.sh seeds | tail -n 1)
echo "$fuzz"
echo "$fuzz" >>"$PROOF_SUMMARY"
run go test -count=1 -run '^TestScanCaptures$' ./proof/scan/

echo
echo "proof summary:"
cat "$PROOF_SUMMARY"
