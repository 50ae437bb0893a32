#!/usr/bin/env bash
# Go native fuzzing of bridged's decoders and classifiers (docs/reliability-fuzz.md).
#
#   .ci/fuzz.sh [seeds]           run every fuzz target on its seed corpus only: the f.Add
#                                 seeds and testdata/fuzz/FuzzX/* (what `go test` runs too)
#   FUZZTIME=5m .ci/fuzz.sh long  fuzz each target for FUZZTIME (default 1m), one after
#                                 another; FUZZPARALLEL sets the workers (default: all CPUs)
#
# Both end with one summary line. A crasher found in long mode is written by Go
# to <package>/testdata/fuzz/FuzzX/<hash>: fix the bug and keep the file as its
# regression seed (renamed to say what it is).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-seeds}"
fuzztime="${FUZZTIME:-1m}"

# Every fuzz target as "package-dir name", from the test files git knows of
# (tracked or not, minus ignored ones).
targets() {
  git ls-files --cached --others --exclude-standard -- '*_test.go' 2>/dev/null |
    xargs -r grep -HoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' |
    sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*#./\1 \2#' | sort -u
}

mapfile -t list < <(targets)
if [ "${#list[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
pkgs=$(printf '%s\n' "${list[@]}" | cut -d' ' -f1 | sort -u)

# seconds turns a Go duration as the fuzzer prints it (1h2m3.5s, 20s) into whole seconds.
seconds() {
  local d=$1 total=0
  if [[ $d =~ ([0-9]+)h ]]; then total=$((total + BASH_REMATCH[1] * 3600)); fi
  if [[ $d =~ ([0-9]+)m([0-9]|$) ]]; then total=$((total + BASH_REMATCH[1] * 60)); fi
  if [[ $d =~ ([0-9]+)(\.[0-9]+)?s ]]; then total=$((total + BASH_REMATCH[1])); fi
  echo "$total"
}

case "$mode" in
seeds)
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  status=0
  # shellcheck disable=SC2086 # one word per package
  go test -count=1 -v -run '^Fuzz' $pkgs >"$out" 2>&1 || status=$?
  entries=$(grep -cE '^ +--- (PASS|FAIL|SKIP): Fuzz[A-Za-z0-9_]+/' "$out" || true)
  failures=$(grep -cE '^ +--- FAIL: Fuzz[A-Za-z0-9_]+/' "$out" || true)
  if [ "$status" -ne 0 ]; then
    # What failed, and anything that is not a passing line (build errors included).
    grep -vE '^(=== (RUN|PAUSE|CONT)|\s*--- PASS|PASS$|ok )' "$out" >&2 || true
    [ "$failures" -eq 0 ] && failures=1
  fi
  echo "fuzz seeds: ${#list[@]} targets, $entries corpus entries, $failures failures"
  [ "$status" -eq 0 ]
  ;;
long)
  failures=0 total_execs=0
  parallel=()
  [ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")
  for t in "${list[@]}"; do
    pkg=${t% *} name=${t#* }
    out=$(mktemp)
    status=0
    go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" >"$out" 2>&1 || status=$?
    last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$out" | tail -n 1 || true)
    execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
    elapsed=$(sed -nE 's/^fuzz: elapsed: ([^,]+),.*/\1/p' <<<"$last")
    corpus=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
    secs=$(seconds "${elapsed:-0s}")
    rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
    total_execs=$((total_execs + ${execs:-0}))
    if [ "$status" -ne 0 ]; then
      failures=$((failures + 1))
      grep -vE '^fuzz: elapsed' "$out" >&2 || true
      echo "$pkg $name: FAILED after ${elapsed:-?}" >&2
    else
      echo "$pkg $name: ${execs:-0} execs in ${elapsed:-?} (${rate}/s), corpus ${corpus:-?}"
    fi
    rm -f "$out"
  done
  echo "fuzz long: ${#list[@]} targets, $fuzztime each, $total_execs execs, $failures failures"
  [ "$failures" -eq 0 ]
  ;;
*)
  echo "usage: $0 [seeds|long]  (FUZZTIME=5m for long)" >&2
  exit 2
  ;;
esac
