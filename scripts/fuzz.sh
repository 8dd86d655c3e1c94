#!/usr/bin/env bash
# Fuzzes one parser of untrusted input with libFuzzer for a bounded time.
#   scripts/fuzz.sh translation|tcmu [SECONDS]   (default 30)
#   translation: the SCSI translation layer (TranslationFuzz; seeds in Fuzz/corpus)
#   tcmu:        the TCMU ring parser (TCMURingFuzz; seeds in Fuzz/tcmu-corpus, each input a whole
#                shared map: mailbox, command ring, data area)
# Builds the fuzz product with -sanitize=fuzzer and -DFUZZING in .build-fuzz (so the normal .build
# stays a plain build), copies the seed corpus to a scratch directory (new inputs the fuzzer finds
# do not dirty the repository) and runs. Crash inputs land in fuzz-artifacts/; replay one with a
# plain build: .build/debug/PRODUCT FILE.
set -euo pipefail
case "${1:-}" in
    translation) product=TranslationFuzz corpus=Fuzz/corpus limits="" ;;
    tcmu) product=TCMURingFuzz corpus=Fuzz/tcmu-corpus limits="-max_len=20000" ;;
    *) echo "usage: scripts/fuzz.sh translation|tcmu [SECONDS]" >&2; exit 2 ;;
esac
seconds="${2:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
swift build --product "$product" -c debug --build-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$corpus"/* "$work"/
mkdir -p fuzz-artifacts
# shellcheck disable=SC2086 # $limits is empty or one flag
".build-fuzz/debug/$product" -max_total_time="$seconds" $limits -print_final_stats=1 \
    -artifact_prefix=fuzz-artifacts/ "$work"
