#!/usr/bin/env bash
# Builds ctrlbench in release mode and runs it; with no arguments, the main job: the benchmark
# on the mock (4 KiB random reads, iodepth 32, inline null device).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product ctrlbench >&2
[ $# -eq 0 ] && set -- bench
exec .build/release/ctrlbench "$@"
