#!/usr/bin/env bash
# Instructions per I/O, counted by callgrind (repeatable, unlike wall time): runs the release
# ctrlbench on the inline null mock for two I/O counts and divides the difference, so start-up
# cancels out. The mock's share is the inclusive cost of its register writes (the doorbells,
# where the inline mock does all its work); the rest is the driver plus ctrlbench's loop.
#   scripts/callgrind.sh [extra ctrlbench bench options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Valgrind 3.19 cannot read the DWARF 5 the toolchain emits; symbols alone are enough here.
swift build -c release --product ctrlbench --scratch-path .build-callgrind -Xswiftc -gnone >&2
binary=.build-callgrind/release/ctrlbench
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
small=20000
large=220000
for n in $small $large; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" \
        "$binary" bench --ios "$n" --no-latency --rw read "$@" > "$out/bench.$n" 2> "$out/valgrind.$n"
done
measure() {  # $1: file -> "total mock"
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | awk '
        /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
        /MockNVMe0A10ControllerC15writeRegister32/ { gsub(",", "", $1); if ($1 > mock) mock = $1 }
        END { print total, mock + 0 }'
}
read -r total_small mock_small <<<"$(measure "$out/cg.$small")"
read -r total_large mock_large <<<"$(measure "$out/cg.$large")"
ios=$((large - small))
awk -v t="$((total_large - total_small))" -v m="$((mock_large - mock_small))" -v n="$ios" 'BEGIN {
    printf "instructions per 4 KiB I/O (callgrind, %d I/Os): all %.0f, mock %.0f, driver + bench loop %.0f\n", n, t / n, m / n, (t - m) / n
}'
