# The export's performance figure, by hand (`bash Tests/VM/run.sh export-perf`; not in CI): on
# QEMU's NVMe controller (null-co backing, so the device costs nothing), 4 KiB random reads at
# queue depth 32 with fio (io_uring, direct): first through the guest kernel's own nvme driver,
# then through `ctrlbench export` over VFIO and tcm_loop (/dev/sdX: sd, LIO, TCMU's ring, the copy,
# the engine). Prints "VM-PERF export <path> <IOPS>" and the ratio; figures, not pass/fail.
# PERF_WORKERS="1 2 4" measures the export once per --workers value (default: the export's own
# default only); the export's counters (commands, kicks each way, workers woken) follow each run.
# PERF_DEPTHS="1 32" measures it once per --queue-depth value too (default: the export's default;
# 1 is the one-command-at-a-time loop); a PERF_BASELINE binary runs with its own default only.
# PERF_COMPLETIONS="interrupts poll" measures it once per --completions value too (default:
# both, interrupts first: sleeping on the queue's MSI-X vector against spinning on the queue);
# PERF_SPINS="1 8" once per --polls-before-sleep value of the interrupt runs (default: the export's).
# PERF_BENCH_DEPTHS="1 32" first measures the engine alone (ctrlbench bench) at those depths.
# PERF_BASELINE=path (another static ctrlbench, e.g. main's) also measures that binary's export
# right after this one's, and PERF_ROUNDS=N repeats the kernel and export runs N times: the host's
# load moves every figure between runs, so compare within a round.
# The guest runs on the TSC clocksource: under TCG its kernel otherwise picks the HPET, and every
# clock_gettime becomes a system call and an emulated MMIO read, which the polled engine (a clock
# read per submitted batch and per watchdog check) pays and a real machine's vDSO does not.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$VM_VFIO_MODULES $EXPORT_MODULES nvme-core nvme"
VM_BINARIES="$(export_binaries "fio:fio")"
PERF_RUNTIME=${PERF_RUNTIME:-10}
PERF_WORKERS=${PERF_WORKERS:-default}
PERF_DEPTHS=${PERF_DEPTHS:-default}
PERF_ROUNDS=${PERF_ROUNDS:-1}
PERF_COMPLETIONS=${PERF_COMPLETIONS:-interrupts poll}
PERF_SPINS=${PERF_SPINS:-default}
VM_TIMEOUT_S=$(( 900 + PERF_RUNTIME * 40 * PERF_ROUNDS * $(echo "$PERF_WORKERS" | wc -w) * $(echo "$PERF_DEPTHS" | wc -w) \
    * ($(echo "$PERF_COMPLETIONS" | wc -w) + $(echo "$PERF_SPINS" | wc -w)) ))
VM_MEMORY_MB=2048
VM_APPEND="clocksource=tsc tsc=reliable"

vm_prepare() {
    export_prepare "fio:fio"
    if [ -n "${PERF_BASELINE:-}" ]; then cp "$PERF_BASELINE" "$VM_WORK/guest/ctrlbench-baseline"; fi
    VM_QEMU_ARGS+=(-drive "driver=null-co,read-zeroes=on,size=1G,if=none,id=null"
                   -device nvme,serial=perfnull,drive=null)
}

vm_guest() {
    echo "RUNTIME=$PERF_RUNTIME"
    echo "WORKERS=\"$PERF_WORKERS\" DEPTHS=\"$PERF_DEPTHS\" BENCH_DEPTHS=\"${PERF_BENCH_DEPTHS:-}\" ROUNDS=$PERF_ROUNDS"
    echo "COMPLETIONS=\"$PERF_COMPLETIONS\" SPINS=\"$PERF_SPINS\""
    cat <<'GUEST'
. /vm/data/export-guest.sh
randread() { # label, disk
    timeout $((RUNTIME + 120)) fio --name=perf --filename="$2" --ioengine=io_uring --direct=1 --rw=randread \
        --bs=4k --iodepth=32 --runtime="$RUNTIME" --time_based --minimal >/tmp/fio.out 2>&1 \
        || fail "fio on $2: $(cat /tmp/fio.out)"
    echo "VM-PERF export $1 $(iops_of /tmp/fio.out fio)"
    iops_of /tmp/fio.out fio >"/tmp/iops.$1"
}
# The export with each --workers and --queue-depth value: $1 a label suffix (a baseline binary
# runs with its own default depth: it may not know the option).
# --completions and --polls-before-sleep: "mode:spins" pairs (a baseline runs with neither).
completion_modes() {
    local mode spins
    case $1 in *baseline*) echo default:default; return ;; esac
    for mode in $COMPLETIONS; do
        if [ "$mode" = interrupts ]; then
            for spins in $SPINS; do echo "interrupts:$spins"; done
        else
            echo "$mode:default"
        fi
    done
}
export_runs() {
    local workers depth depths=$DEPTHS label suffix=$1 wait mode spins
    case $suffix in *baseline*) depths=default ;; esac
    for workers in $WORKERS; do
        for depth in $depths; do
          for wait in $(completion_modes "$suffix"); do
            mode=${wait%%:*} spins=${wait#*:}
            label=tcm-loop$suffix
            set --
            [ "$workers" = default ] || { label=$label-workers-$workers; set -- --workers "$workers"; }
            [ "$depth" = default ] || { label=$label-qd-$depth; set -- "$@" --queue-depth "$depth"; }
            [ "$mode" = default ] || { label=$label-$mode; set -- "$@" --completions "$mode"; }
            [ "$spins" = default ] || { label=$label-spins-$spins; set -- "$@" --polls-before-sleep "$spins"; }
            step "ctrlbench export of $BDF through tcm_loop ($label)"
            export_start --device "$BDF" --tcm-loop --verbose "$@"
            DISK=$(export_disk)
            step "export: fio 4 KiB randread QD32 on $DISK"
            randread "$label" "$DISK"
            export_stop
            grep "LUN 0: .* commands" /tmp/export.log | sed 's/^.*LUN 0: /VM-PERF export counters: /'
            grep -E "completions (by interrupt|polled)|completion interrupts(:| not used)" /tmp/export.log | sed 's/^/VM-PERF export wait: /'
            echo "VM-PERF export ratio $(awk -v e="$(cat "/tmp/iops.$label")" -v k="$(cat "/tmp/iops.$kernel_label")" 'BEGIN { printf "%.3f", (k > 0 ? e / k : 0) }') ($label export / $kernel_label)"
            export_disk_gone
          done
        done
    done
}
echo "VM-PERF export clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
BDF=$(bdf_with_serial perfnull)
[ -n "$BDF" ] || fail "no controller with serial perfnull"
EXPORT_MODEL="QEMU NVMe Ctrl"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    suffix=""
    [ "$ROUNDS" -eq 1 ] || suffix="-round-$round"
    [ "$round" -eq 1 ] || unbind_to_kernel
    disk=$(kernel_disk perfnull)
    kernel_label=kernel-nvme$suffix
    step "kernel nvme: fio 4 KiB randread QD32 on $disk"
    randread "$kernel_label" "$disk"
    check cb bind "$BDF"
    if [ "$round" -eq 1 ]; then
        for depth in ${BENCH_DEPTHS:-}; do
            step "engine alone: ctrlbench bench 4 KiB randread QD$depth"
            cb bench --device "$BDF" --rw randread --bs 4096 --iodepth "$depth" --runtime "$RUNTIME" >/tmp/bench.out 2>&1 \
                || fail "bench: $(cat /tmp/bench.out)"
            echo "VM-PERF export engine-qd$depth $(iops_of /tmp/bench.out bench)"
        done
        export_load_lio
    fi
    export_runs "$suffix"
    if [ -x /vm/data/ctrlbench-baseline ]; then
        cp /bin/ctrlbench /tmp/ctrlbench.measured
        cp /vm/data/ctrlbench-baseline /bin/ctrlbench
        export_runs "-baseline$suffix"
        cp /tmp/ctrlbench.measured /bin/ctrlbench
    fi
    round=$((round + 1))
done
GUEST
}
