#!/usr/bin/env bash
# CI stage: time-bounded libFuzzer runs over the CDB translator and the TCMU ring parser (a crash
# fails the build). FUZZ_SECONDS sets each run's length (default 60 for the translator, 30 for the
# ring parser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fuzz.sh translation "${FUZZ_SECONDS:-60}" 2>&1 | tail -n 15
bash scripts/fuzz.sh tcmu "${FUZZ_SECONDS:-30}" 2>&1 | tail -n 15
