# QEMU's NVMe controller as it comes (512-byte blocks, a raw image): bind, bench with SGL and with
# PRP forced, SCSI transfers from 512 B to 64 MiB in one request each, INQUIRY, READ CAPACITY(16),
# SYNCHRONIZE CACHE, a read past the end; then the kernel's nvme driver reads the same bytes back,
# and the host finds exactly the pattern in the image.
VM_MODULES="$VM_VFIO_MODULES $VM_NVME_MODULES"
VM_TIMEOUT_S=900

IMAGE_BYTES=$(( 256 * 1048576 ))
# bytes:offset:patternOffset - offsets are multiples of the size, so dd reads them whole.
REGIONS="512:67108864:4096 4096:68157440:8192 65536:69206016:12288 1048576:71303168:16384 67108864:134217728:0"

vm_prepare() {
    vm_make_pattern $(( 67108864 + 65536 ))
    truncate -s "$IMAGE_BYTES" "$VM_WORK/ns1.img"
    VM_QEMU_ARGS+=(-drive "file=$VM_WORK/ns1.img,format=raw,if=none,id=ns1,cache=unsafe"
                   -device nvme,serial=vmdefault,drive=ns1)
}

vm_guest() {
    echo "REGIONS='$REGIONS' BLOCKS=$(( IMAGE_BYTES / 512 ))"
    cat <<'GUEST'
DISK=$(kernel_disk vmdefault)
[ -n "$DISK" ] || fail "the kernel did not find the namespace at boot"
BDF=$(nvme_bdf)
[ -n "$BDF" ] || fail "no NVMe controller found"
step "bind $BDF"
check cb bind "$BDF"
# Sequential writes stay in the first 8 MiB, below every pattern region.
step "bench SGL write";    check_bench sgl --rw write --number_ios 2000 --iodepth 16
step "bench PRP write";    check_bench prp --rw write --number_ios 2000 --iodepth 16
step "bench SGL randread"; check_bench sgl --rw randread --number_ios 4000
step "bench PRP randread"; check_bench prp --rw randread --number_ios 4000
step "INQUIRY";            check_inquiry 0
step "READ CAPACITY(16)";  check_capacity 0 "$BLOCKS" 512
for region in $REGIONS; do
    step "WRITE(16)/READ(16) ${region%%:*} bytes in one request"
    region_roundtrip "$region" 0 512
done
step "SYNCHRONIZE CACHE";  check_synchronize_cache 0
step "read past the end";  check_read_past_end 0 "$BLOCKS" 512
# QEMU's nvme: MDTS 7 (512 KiB with 4 KiB pages) and 64 I/O queue pairs unless told otherwise.
step "info";               check_info 7 524288 64 "$BLOCKS" 512
step "explain 1.5 MiB";    check_explain 1536k 3 524288
# --verify: every block written carries data derived from its LBA; a write run reads it all back,
# and a second run (a new process, a new bring-up) reads it again. All within the first 8 MiB.
step "bench --verify crc32c write, read back"
check_bench sgl --rw write --size 8m --number_ios 2048 --iodepth 16 --verify crc32c
check_verified 16384
step "bench --verify crc32c randread in a new run"
check_bench prp --rw randread --size 8m --number_ios 2000 --verify crc32c
check_verified
# 1 MiB per I/O is two commands at MDTS 512 KiB: the block path's breaker splits each.
step "bench --bs 1m (above MDTS) on the block path, --verify pattern"
check_bench sgl --rw randwrite --bs 1m --size 8m --number_ios 16 --verify pattern
grep -q "path block" /tmp/bench.out || fail "bench --bs 1m did not take the block path"
check_verified
step "unbind to the kernel's nvme"
unbind_to_kernel
kernel_reads_back vmdefault 1 $REGIONS
GUEST
}

vm_verify() {
    # shellcheck disable=SC2086
    vm_check_regions "$VM_WORK/ns1.img" $REGIONS
}
