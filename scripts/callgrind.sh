#!/usr/bin/env bash
# Instructions per I/O, counted by callgrind (repeatable, unlike wall time): runs the release
# ctrlbench on the inline null mock for two I/O counts and divides the difference, so start-up
# cancels out. The mock's share is the inclusive cost of its register writes (the doorbells,
# where the inline mock does all its work); the rest is the driver plus ctrlbench's loop. The
# bench loop's own share is the cost callgrind attributes to lines of Sources/ctrlbench (line
# tables, DWARF 4 so valgrind 3.19 reads them); the driver alone is what is left. Standard-library
# code inlined into the loop has no ctrlbench line, so it counts as the driver's: "driver alone"
# is an upper bound.
#   scripts/callgrind.sh [extra ctrlbench bench options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product ctrlbench --scratch-path .build-callgrind \
    -Xswiftc -gline-tables-only -Xswiftc -dwarf-version=4 >&2
binary=.build-callgrind/release/ctrlbench
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
small=20000
large=220000
for n in $small $large; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" \
        "$binary" bench --ios "$n" --no-latency --rw read "$@" > "$out/bench.$n" 2> "$out/valgrind.$n"
done
measure() {  # $1: file -> "total mock loop"
    local mock loop
    mock="$(callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | awk '
        /MockNVMe0A10ControllerC15writeRegister32/ { gsub(",", "", $1); if ($1 > mock) mock = $1 }
        END { print mock + 0 }')"
    loop="$(callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null | awk '
        /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
        $0 ~ /\/Sources\/ctrlbench\// { gsub(",", "", $1); loop += $1 }
        END { print total, loop + 0 }')"
    echo "${loop% *} $mock ${loop#* }"
}
read -r total_small mock_small loop_small <<<"$(measure "$out/cg.$small")"
read -r total_large mock_large loop_large <<<"$(measure "$out/cg.$large")"
ios=$((large - small))
size="4 KiB"
args=("$@")
for i in "${!args[@]}"; do
    if [ "${args[$i]}" = "--bs" ]; then size="$(( ${args[$((i + 1))]} / 1024 )) KiB"; fi
done
awk -v size="$size" -v t="$((total_large - total_small))" -v m="$((mock_large - mock_small))" -v l="$((loop_large - loop_small))" -v n="$ios" 'BEGIN {
    printf "instructions per %s I/O (callgrind, %d I/Os): all %.0f, mock %.0f, driver alone %.0f, driver + bench loop %.0f\n", size, n, t / n, m / n, (t - m - l) / n, (t - m) / n
}'
