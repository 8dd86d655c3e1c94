#!/usr/bin/env bash
# Runs the driver benchmarks (ordo-one/benchmark) on the inline null mock and checks the
# thresholds they declare (0 mallocs per I/O). Extra arguments go to `swift package benchmark`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SWIFTNVME_BENCHMARKS=1
exec swift package --scratch-path .build-bench --allow-writing-to-package-directory benchmark "$@"
