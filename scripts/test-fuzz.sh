#!/usr/bin/env bash
# CI stage: a time-bounded libFuzzer run over the CDB translator (crashes fail the build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fuzz-translation.sh "${FUZZ_SECONDS:-60}" 2>&1 | tail -n 15
