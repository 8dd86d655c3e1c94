#!/usr/bin/env bash
# Fuzzes the TCMU ring parser with libFuzzer for a bounded time.
#   scripts/fuzz-tcmu.sh [SECONDS]   (default 30)
# Builds TCMURingFuzz with -sanitize=fuzzer and -DFUZZING in .build-fuzz (apart from the normal
# build), runs it on a scratch copy of Fuzz/tcmu-corpus (each input is a whole shared map:
# mailbox, command ring, data area). Crash inputs land in fuzz-artifacts/; replay one with a plain
# build: .build/debug/TCMURingFuzz FILE.
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
swift build --product TCMURingFuzz -c debug --build-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp Fuzz/tcmu-corpus/* "$work"/
mkdir -p fuzz-artifacts
.build-fuzz/debug/TCMURingFuzz -max_total_time="$seconds" -max_len=20000 -print_final_stats=1 \
    -artifact_prefix=fuzz-artifacts/ "$work"
