#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, build, unit and conformance tests, then
# every scripts/test-*.sh stage (benchmark thresholds, callgrind budgets, the fuzz runs of the
# CDB translator and the TCMU ring parser, the quick start, the thread sanitizer, the VM boots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== swift test"
set +e
swift test > .build-test.log 2>&1
status=$?
set -e
# Failures and warnings in full, then the runners' closing lines.
grep -E "✘|error:|warning:|Fatal error|Test Suite '.*' (failed|passed)" .build-test.log | grep -v "^\[" | tail -n 200 || true
tail -n 4 .build-test.log
[ "$status" -eq 0 ] || { echo "swift test failed" >&2; exit "$status"; }

for extra in scripts/test-*.sh; do
    [ -e "$extra" ] || continue
    echo "== $extra"
    bash "$extra"
done
echo "test.sh: all suites passed"
