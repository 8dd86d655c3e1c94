#!/usr/bin/env bash
# Instructions per I/O, counted by callgrind (repeatable, unlike wall time): each program runs on
# the inline null mock for two I/O counts and the difference is divided out, so start-up cancels.
# The mock's share is the inclusive cost of its register writes (the doorbells, where the inline
# mock does all its work); the rest is ours.
#   scripts/callgrind.sh [--pointers prp|sgl] [--bs BYTES] [other ctrlbench bench options...]
#     line 1: the driver alone - CallgrindProbe's raw queue pair, driven by the least loop a
#             caller can write (32 commands per doorbell);
#     line 2 (last): the driver plus ctrlbench's bench loop.
#   scripts/callgrind.sh --unbatched [--bs BYTES]
#     one request at a time: a block-API read (`IOQueue.read`) and a SCSI READ(10) task.
#   scripts/callgrind.sh --timing [--pointers prp|sgl]
#     latency timing: the bench loop's cost with latency timing less its cost with --no-latency,
#     each the inclusive cost of the loop's function (so the report's percentiles, which cost
#     more the more distinct latencies a run records, stay out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The probe target exists only with this set (see Package.swift); both builds use it so they
# share one build. No Swift debug info: with line tables, callgrind names inlined code after its
# source function, outside its caller's inclusive cost, so mock code inlined into the doorbell
# path would count as the driver's. Symbols alone name each function. C stays DWARF 4
# (valgrind 3.19 cannot read DWARF 5).
export SWIFTNVME_CALLGRIND=1
flags=(-c release --scratch-path .build-callgrind -Xswiftc -gnone -Xcc -gdwarf-4)
swift build "${flags[@]}" --product ctrlbench >&2
swift build "${flags[@]}" --product CallgrindProbe >&2
bench=.build-callgrind/release/ctrlbench
probe=.build-callgrind/release/CallgrindProbe
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

unbatched=0
timing=0
pointers=prp
bytes=4096
args=("$@")
for i in "${!args[@]}"; do
    case "${args[$i]}" in
        --unbatched) unbatched=1 ;;
        --timing) timing=1 ;;
        --pointers) pointers="${args[$((i + 1))]}" ;;
        --bs) bytes="${args[$((i + 1))]}" ;;
    esac
done
size="$((bytes / 1024)) KiB"

# $1: callgrind file -> "total mock" (numeric comparison: gsub leaves $1 a string); with $2 set,
# "total" is the inclusive cost of the costliest function whose symbol contains $2.
measure() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | awk -v want="${2:-}" '
        want == "" && /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
        want != "" && index($0, want) { gsub(",", "", $1); v = $1 + 0; if (v > total) total = v }
        /MockNVMe0A10ControllerC15writeRegister32/ { gsub(",", "", $1); v = $1 + 0; if (v > mock) mock = v }
        END { print total + 0, mock + 0 }'
}
function=""  # what per_io measures: the whole program unless set
# $1: name, $2: small count, $3: large count, then the command with IOS where the count goes.
# Prints "total mock" per I/O.
per_io() {
    local name="$1" small="$2" large="$3"
    shift 3
    for n in "$small" "$large"; do
        valgrind --tool=callgrind --callgrind-out-file="$out/$name.$n" "${@/IOS/$n}" > "$out/$name.out.$n" 2> "$out/$name.err.$n" || {
            echo "$name failed under callgrind:" >&2; tail -n 5 "$out/$name.out.$n" "$out/$name.err.$n" >&2; exit 1; }
    done
    read -r total_small mock_small <<<"$(measure "$out/$name.$small" "$function")"
    read -r total_large mock_large <<<"$(measure "$out/$name.$large" "$function")"
    awk -v t="$((total_large - total_small))" -v m="$((mock_large - mock_small))" -v n="$((large - small))" \
        'BEGIN { printf "%.0f %.0f %d\n", t / n, m / n, n }'
}

if [ "$unbatched" = 1 ]; then
    read -r all mock n <<<"$(per_io block 5000 25000 "$probe" block-read "$bytes" IOS)"
    echo "unbatched block-API read of $size (callgrind, $n I/Os): all $all, mock $mock, driver $((all - mock))"
    read -r all mock n <<<"$(per_io scsi 5000 25000 "$probe" scsi-read10 "$bytes" IOS)"
    echo "unbatched SCSI READ(10) of $size (callgrind, $n I/Os): all $all, mock $mock, driver $((all - mock))"
    exit 0
fi
if [ "$timing" = 1 ]; then
    function='9ctrlbench12RawJobRunnerV3run'
    read -r timed mock n <<<"$(per_io timed 20000 220000 "$bench" bench --ios IOS --rw read --pointers "$pointers")"
    read -r untimed mock n <<<"$(per_io untimed 20000 220000 "$bench" bench --ios IOS --no-latency --rw read --pointers "$pointers")"
    echo "latency timing per $size I/O, $pointers (callgrind, $n I/Os): timed loop $timed, untimed $untimed, latency timing $((timed - untimed))"
    exit 0
fi
read -r all mock n <<<"$(per_io probe 20000 220000 "$probe" queue-pair "$pointers" "$bytes" IOS)"
echo "driver alone per $size I/O, $pointers (callgrind, $n I/Os): all $all, mock $mock, driver alone $((all - mock))"
read -r all mock n <<<"$(per_io bench 20000 220000 "$bench" bench --ios IOS --no-latency --rw read "$@")"
echo "instructions per $size I/O (callgrind, $n I/Os): all $all, mock $mock, driver + bench loop $((all - mock))"
