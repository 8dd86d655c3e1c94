#!/usr/bin/env bash
# Builds ctrlbench in release mode and runs it; with no arguments, the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product ctrlbench >&2
[ $# -eq 0 ] && set -- list
exec .build/release/ctrlbench "$@"
