# Two namespaces: the first with 512-byte blocks, the second with 4096-byte blocks and a size
# that is not a power of two (LUN 1). Capacity, transfers, the end of the second, and the kernel's
# view of both.
VM_MODULES="$VM_VFIO_MODULES $VM_NVME_MODULES"
VM_TIMEOUT_S=900

NS1_BYTES=$(( 64 * 1048576 ))
NS2_BYTES=$(( 200 * 1048576 + 3 * 4096 ))
NS1_REGIONS="512:16777216:4096 65536:33554432:8192"
NS2_REGIONS="4096:16777216:12288 65536:33554432:16384 67108864:67108864:0"

vm_prepare() {
    vm_make_pattern $(( 67108864 + 65536 ))
    truncate -s "$NS1_BYTES" "$VM_WORK/ns1.img"
    truncate -s "$NS2_BYTES" "$VM_WORK/ns2.img"
    VM_QEMU_ARGS+=(-drive "file=$VM_WORK/ns1.img,format=raw,if=none,id=ns1,cache=unsafe"
                   -drive "file=$VM_WORK/ns2.img,format=raw,if=none,id=ns2,cache=unsafe"
                   -device nvme,id=nvme0,serial=vmnamespaces
                   -device nvme-ns,drive=ns1,bus=nvme0,nsid=1
                   -device nvme-ns,drive=ns2,bus=nvme0,nsid=2,logical_block_size=4096,physical_block_size=4096)
}

vm_guest() {
    echo "NS1_REGIONS='$NS1_REGIONS' NS2_REGIONS='$NS2_REGIONS'"
    echo "NS1_BLOCKS=$(( NS1_BYTES / 512 )) NS2_BLOCKS=$(( NS2_BYTES / 4096 ))"
    cat <<'GUEST'
DISK2=$(kernel_disk vmnamespaces 2)
[ -n "$DISK2" ] || fail "the kernel did not find namespace 2 at boot"
BDF=$(nvme_bdf)
[ -n "$BDF" ] || fail "no NVMe controller found"
step "bind $BDF"
check cb bind "$BDF"
step "READ CAPACITY(16) of both"
check_capacity 0 "$NS1_BLOCKS" 512
check_capacity 1 "$NS2_BLOCKS" 4096
step "INQUIRY of LUN 1"; check_inquiry 1
for region in $NS1_REGIONS; do
    step "LUN 0: WRITE(16)/READ(16) ${region%%:*} bytes"
    region_roundtrip "$region" 0 512
done
for region in $NS2_REGIONS; do
    step "LUN 1: WRITE(16)/READ(16) ${region%%:*} bytes"
    region_roundtrip "$region" 1 4096
done
step "LUN 1: read past the end"; check_read_past_end 1 "$NS2_BLOCKS" 4096
step "unbind to the kernel's nvme"
unbind_to_kernel
kernel_reads_back vmnamespaces 1 $NS1_REGIONS
kernel_reads_back vmnamespaces 2 $NS2_REGIONS
GUEST
}

vm_verify() {
    # shellcheck disable=SC2086
    vm_check_regions "$VM_WORK/ns1.img" $NS1_REGIONS && vm_check_regions "$VM_WORK/ns2.img" $NS2_REGIONS
}
