#!/usr/bin/env bash
# CI stage: the driver's own cost per 4 KiB I/O, counted in instructions by callgrind
# (repeatable on a shared machine, unlike wall time), within its budgets in both data-pointer
# modes: the driver with ctrlbench's submit/poll loop, and the driver alone (an upper bound, see
# scripts/callgrind.sh). Then the cost of each further 4 KiB page of a PRP list.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=300
driver_alone_budget=100
prp_page_budget=5
number() {  # $1: label, $2: line -> the count after the label
    sed -n "s/.*$1 \([0-9]*\).*/\1/p" <<<"$2"
}
for pointers in prp sgl; do
    line="$(bash scripts/callgrind.sh --pointers "$pointers" 2>/dev/null | tail -n 1)"
    echo "$pointers: $line"
    driver="$(number "driver + bench loop" "$line")"
    [ -n "$driver" ] || { echo "could not read the instruction count" >&2; exit 1; }
    if [ "$driver" -gt "$budget" ]; then
        echo "driver cost $driver instructions per I/O exceeds the budget of $budget" >&2
        exit 1
    fi
    alone="$(number "driver alone" "$line")"
    [ -n "$alone" ] || { echo "could not read the driver-alone count" >&2; exit 1; }
    if [ "$alone" -gt "$driver_alone_budget" ]; then
        echo "the driver alone costs $alone instructions per I/O ($pointers), over the budget of $driver_alone_budget" >&2
        exit 1
    fi
done
# PRP list building: 64 KiB and 128 KiB commands differ by 16 list entries (pages).
small="$(bash scripts/callgrind.sh --pointers prp --bs 65536 2>/dev/null | tail -n 1)"
large="$(bash scripts/callgrind.sh --pointers prp --bs 131072 2>/dev/null | tail -n 1)"
echo "prp 64 KiB: $small"
echo "prp 128 KiB: $large"
a="$(number "driver alone" "$small")"
b="$(number "driver alone" "$large")"
[ -n "$a" ] && [ -n "$b" ] || { echo "could not read the PRP counts" >&2; exit 1; }
per_page=$(( (b - a + 8) / 16 ))
echo "PRP list: $per_page instructions per 4 KiB page"
if [ "$per_page" -gt "$prp_page_budget" ]; then
    echo "PRP list building costs $per_page instructions per 4 KiB page, over the budget of $prp_page_budget" >&2
    exit 1
fi
