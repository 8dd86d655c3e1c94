# The performance boot (run by hand through Tests/VM/perf.sh; CI boots perf-short): two
# controllers, one on null-co backing and one on a raw image. On each, 4 KiB random reads at
# queue depth 32: the guest kernel's nvme with fio (io_uring), then ctrlbench through VFIO (with
# shadow doorbells, and without when `bench --help` offers --no-shadow-doorbells), then the
# kernel again. Prints "VM-PERF <backing> <runner> <IOPS>" lines; figures, not pass/fail.
VM_MODULES="$VM_VFIO_MODULES $VM_NVME_MODULES"
VM_BINARIES="fio"
PERF_RUNTIME=${PERF_RUNTIME:-10}
PERF_BACKINGS=${PERF_BACKINGS:-"null raw"}
VM_TIMEOUT_S=$(( 900 + PERF_RUNTIME * 40 ))

vm_prepare() {
    truncate -s 1G "$VM_WORK/raw.img"
    VM_QEMU_ARGS+=(-drive "driver=null-co,read-zeroes=on,size=1G,if=none,id=null"
                   -device nvme,serial=perfnull,drive=null
                   -drive "file=$VM_WORK/raw.img,format=raw,if=none,id=raw,cache=none,aio=threads"
                   -device nvme,serial=perfraw,drive=raw)
}

vm_guest() {
    echo "RUNTIME=$PERF_RUNTIME BACKINGS='$PERF_BACKINGS'"
    cat <<'GUEST'
perf_kernel() { # backing, label, disk
    timeout $((RUNTIME + 120)) fio --name=perf --filename="$3" --ioengine=io_uring --direct=1 --rw=randread \
        --bs=4k --iodepth=32 --runtime="$RUNTIME" --time_based --minimal >/tmp/fio.out 2>&1 \
        || fail "fio on $3: $(cat /tmp/fio.out)"
    echo "VM-PERF $1 $2 $(iops_of /tmp/fio.out fio)"
}
perf_ctrlbench() { # backing, label, extra bench options
    local backing=$1 label=$2
    shift 2
    CB_TIMEOUT=$((RUNTIME * 10 + 120)) cb bench --device "$BDF" --rw randread --bs 4096 --iodepth 32 \
        --runtime "$RUNTIME" "$@" >/tmp/bench.out 2>&1 || fail "bench: $(cat /tmp/bench.out)"
    cat /tmp/bench.out
    echo "VM-PERF $backing $label $(iops_of /tmp/bench.out bench)"
}
shadow_flag=no
for backing in $BACKINGS; do
    disk=$(kernel_disk "perf$backing")
    [ -n "$disk" ] || fail "the kernel found no namespace on perf$backing"
    BDF=$(bdf_with_serial "perf$backing")
    [ -n "$BDF" ] || fail "no controller with serial perf$backing"
    step "$backing: kernel nvme (fio) before"
    perf_kernel "$backing" kernel-before "$disk"
    step "$backing: ctrlbench"
    check cb bind "$BDF"
    cb bench --help 2>&1 | grep -q -- "--no-shadow-doorbells" && shadow_flag=yes
    perf_ctrlbench "$backing" ctrlbench
    if [ "$shadow_flag" = yes ]; then
        step "$backing: ctrlbench without shadow doorbells"
        perf_ctrlbench "$backing" ctrlbench-no-shadow --no-shadow-doorbells
    fi
    step "$backing: kernel nvme (fio) after"
    load_kernel_nvme
    check cb unbind "$BDF" --driver nvme
    disk=$(kernel_disk "perf$backing")
    [ -n "$disk" ] || fail "the kernel found no namespace on perf$backing after unbind"
    perf_kernel "$backing" kernel-after "$disk"
done
GUEST
}
