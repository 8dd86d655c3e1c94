#!/usr/bin/env bash
# CI stage: a time-bounded libFuzzer run over the TCMU ring parser (crashes fail the build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fuzz-tcmu.sh "${FUZZ_SECONDS:-30}" 2>&1 | tail -n 15
