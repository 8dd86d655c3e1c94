# A controller with a 16 KiB transfer limit (mdts=2 with 4 KiB pages) and one I/O queue pair:
# the engine must split a 64 MiB SCSI request into thousands of commands on that one queue, and
# the bytes must still land exactly.
VM_MODULES="$VM_VFIO_MODULES $VM_NVME_MODULES"
VM_TIMEOUT_S=900

IMAGE_BYTES=$(( 256 * 1048576 ))
REGIONS="4096:67108864:4096 1048576:71303168:16384 67108864:134217728:0"

vm_prepare() {
    vm_make_pattern $(( 67108864 + 65536 ))
    truncate -s "$IMAGE_BYTES" "$VM_WORK/ns1.img"
    VM_QEMU_ARGS+=(-drive "file=$VM_WORK/ns1.img,format=raw,if=none,id=ns1,cache=unsafe"
                   -device nvme,serial=vmmdts,drive=ns1,mdts=2,max_ioqpairs=1)
}

vm_guest() {
    echo "REGIONS='$REGIONS' BLOCKS=$(( IMAGE_BYTES / 512 ))"
    cat <<'GUEST'
DISK=$(kernel_disk vmmdts)
[ -n "$DISK" ] || fail "the kernel did not find the namespace at boot"
BDF=$(nvme_bdf)
[ -n "$BDF" ] || fail "no NVMe controller found"
step "bind $BDF"
check cb bind "$BDF"
step "bench PRP write at MDTS"; check_bench prp --rw write --bs 16384 --number_ios 500 --iodepth 8
step "bench SGL randread";      check_bench sgl --rw randread --number_ios 2000
for region in $REGIONS; do
    step "WRITE(16)/READ(16) ${region%%:*} bytes in one request"
    region_roundtrip "$region" 0 512
done
step "read past the end"; check_read_past_end 0 "$BLOCKS" 512
step "info";               check_info 2 16384 1 "$BLOCKS" 512
step "explain 1 MiB";      check_explain 1m 64 16384
# Above MDTS: the raw path (one command per I/O) refuses with the limit named; the block path
# splits each 64 KiB I/O into 4 commands and the data comes back as written.
step "bench --bs 64k --path raw refused";  check_raw_above_mdts_refused 64k 16384
step "bench --bs 64k (above MDTS) on the block path, --verify crc32c"
check_bench prp --rw write --bs 64k --size 8m --number_ios 128 --verify crc32c
grep -q "path block" /tmp/bench.out || fail "bench --bs 64k did not take the block path"
check_verified 16384
step "unbind to the kernel's nvme"
unbind_to_kernel
kernel_reads_back vmmdts 1 $REGIONS
GUEST
}

vm_verify() {
    # shellcheck disable=SC2086
    vm_check_regions "$VM_WORK/ns1.img" $REGIONS
}
