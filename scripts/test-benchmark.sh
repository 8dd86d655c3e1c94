#!/usr/bin/env bash
# CI stage: the driver benchmarks with their thresholds checked (0 mallocs per I/O).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/benchmark.sh thresholds check --no-progress 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^\s*$' | tail -n 25
exit "${PIPESTATUS[0]}"
