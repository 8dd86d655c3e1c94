#!/usr/bin/env bash
# Fuzzes the SCSI translation layer with libFuzzer for a bounded time.
#   scripts/fuzz-translation.sh [SECONDS]   (default 30)
# Builds the TranslationFuzz product with -sanitize=fuzzer and -DFUZZING in its own build
# directory (so the normal .build stays a plain build), copies the seed corpus to a scratch
# directory (new inputs the fuzzer finds do not dirty the repository) and runs. Crash inputs land
# in fuzz-artifacts/; replay one with a plain build: .build/debug/TranslationFuzz FILE.
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
swift build --product TranslationFuzz -c debug --build-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp Fuzz/corpus/* "$work"/
mkdir -p fuzz-artifacts
.build-fuzz/debug/TranslationFuzz -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=fuzz-artifacts/ "$work"
