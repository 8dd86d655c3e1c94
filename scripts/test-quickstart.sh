#!/usr/bin/env bash
# CI stage: the README's main-job command, exactly as a new user types it, must build and print a
# benchmark summary on the mock; `list` must enumerate this machine's PCI bus.
set -euo pipefail
cd "$(dirname "$0")/.."
summary="$(bash scripts/ctrlbench.sh 2>/dev/null)"
echo "$summary"
for field in "I/Os" "IOPS" "throughput" "latency"; do
    grep -q "$field" <<<"$summary" || { echo "quick start: the bench summary lacks '$field'" >&2; exit 1; }
done
listing="$(bash scripts/ctrlbench.sh list 2>/dev/null)"
echo "$listing" | head -n 5
[ -n "$listing" ] || { echo "quick start: ctrlbench list printed nothing" >&2; exit 1; }
