#!/usr/bin/env bash
# CI stage: the driver's own cost in instructions, counted by callgrind (repeatable on a shared
# machine, unlike wall time), within its budgets (issue 14):
#   - per 4 KiB I/O at queue depth 32, PRP and SGL: the driver with ctrlbench's bench loop, and
#     the driver alone (scripts/callgrind.sh's probe, the least loop a caller can write);
#   - latency timing per 4 KiB I/O, PRP and SGL: the bench loop timed less the loop untimed;
#   - each further 4 KiB page of a PRP list;
#   - one unbatched 4 KiB request: a block-API read, and a SCSI READ(10) task.
set -euo pipefail
cd "$(dirname "$0")/.."
# Budgets guard today's measured figures against regression (README, Performance: driver + loop
# 140/140 SGL/PRP, driver alone 97/97, latency timing 19, unbatched block read 582 and READ(10)
# 775 on 4 December 2026; before the hot-path work 296/310, 147/159, 111, 1542/2263). Each of
# issue 14's targets is met, so each budget is its target: driver + loop 150, driver alone 100,
# latency timing 30, a PRP list's page 5, unbatched block read 600, unbatched READ(10) 800.
# Lower a budget here when a change reaches its target.
budget=150
driver_alone_budget=100
timing_budget=30
prp_page_budget=5
block_read_budget=600
read10_budget=800
failed=0
number() {  # $1: label, $2: line -> the count after the label
    sed -n "s/.*$1 \([0-9]*\).*/\1/p" <<<"$2"
}
check() {  # $1: what, $2: count, $3: budget
    [ -n "$2" ] || { echo "could not read the count for $1" >&2; exit 1; }
    if [ "$2" -gt "$3" ]; then
        echo "$1: $2 instructions, over the budget of $3" >&2
        failed=1
    fi
}
for pointers in prp sgl; do
    lines="$(bash scripts/callgrind.sh --pointers "$pointers" 2>/dev/null | tail -n 2)"
    echo "$pointers: $lines"
    check "driver + bench loop per I/O ($pointers)" "$(number "driver + bench loop" "$(tail -n 1 <<<"$lines")")" "$budget"
    check "driver alone per I/O ($pointers)" "$(number "driver alone" "$(head -n 1 <<<"$lines")")" "$driver_alone_budget"
    timing="$(bash scripts/callgrind.sh --timing --pointers "$pointers" 2>/dev/null | tail -n 1)"
    echo "$pointers: $timing"
    check "latency timing per I/O ($pointers)" "$(number "latency timing" "$timing")" "$timing_budget"
done
# PRP list building: 64 KiB and 128 KiB commands differ by 16 list entries (pages).
small="$(bash scripts/callgrind.sh --pointers prp --bs 65536 2>/dev/null | tail -n 2 | head -n 1)"
large="$(bash scripts/callgrind.sh --pointers prp --bs 131072 2>/dev/null | tail -n 2 | head -n 1)"
echo "$small"
echo "$large"
a="$(number "driver alone" "$small")"
b="$(number "driver alone" "$large")"
[ -n "$a" ] && [ -n "$b" ] || { echo "could not read the PRP counts" >&2; exit 1; }
per_page=$(( (b - a + 8) / 16 ))
echo "PRP list: $per_page instructions per 4 KiB page"
check "PRP list building per 4 KiB page" "$per_page" "$prp_page_budget"
unbatched="$(bash scripts/callgrind.sh --unbatched 2>/dev/null | tail -n 2)"
echo "$unbatched"
check "unbatched block-API read" "$(number "driver" "$(head -n 1 <<<"$unbatched")")" "$block_read_budget"
check "unbatched SCSI READ(10)" "$(number "driver" "$(tail -n 1 <<<"$unbatched")")" "$read10_budget"
# The inline null mock's own share per I/O (its doorbell register writes), from the last
# driver + bench loop line above. Measured 186 (SGL) with shadow doorbells configured since each
# queue pair's doorbells run on its own lock and keep their translations (646-651 before, under
# one controller mutex; about 900 before the speed work); issue 14's target of 300 is met.
mock_budget=205
check "the null mock per I/O" "$(sed -n 's/.*, mock \([0-9]*\),.*/\1/p' <<<"$(tail -n 1 <<<"$lines")")" "$mock_budget"
exit "$failed"
