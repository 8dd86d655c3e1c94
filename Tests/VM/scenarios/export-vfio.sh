# `ctrlbench export` of QEMU's NVMe controller, driven through the guest's vfio-pci and the
# emulated IOMMU, through tcm_loop: the functional set of export-tcmloop (sg3_utils, dd round
# trips, parted/mkfs.ext4/fsck) on a real VFIO path, then a clean stop. Its dd sizes include the
# thread's largest: one 1 GiB block direct and one buffered, each one dd write and one dd read
# (dd_roundtrip). The guest holds the block written, the block read and dd's buffer, 3 GiB
# with TCMU's data area beside them; the namespace's data lives in the host's image file.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$VM_VFIO_MODULES $EXPORT_MODULES"
VM_BINARIES="$(export_binaries)"
VM_TIMEOUT_S=1500
VM_MEMORY_MB=5632
IMAGE_BYTES=$(( 3 * 1073741824 ))

vm_prepare() {
    export_prepare
    head -c $(( 20 * 1048576 )) /dev/urandom >"$VM_WORK/guest/pattern.bin"
    truncate -s "$IMAGE_BYTES" "$VM_WORK/ns1.img"
    VM_QEMU_ARGS+=(-drive "file=$VM_WORK/ns1.img,format=raw,if=none,id=ns1,cache=unsafe"
                   -device nvme,serial=vmexport,drive=ns1)
}

vm_guest() {
    echo "BLOCKS=$(( IMAGE_BYTES / 512 ))"
    cat <<'GUEST'
. /vm/data/export-guest.sh
cp /vm/data/pattern.bin /tmp/pattern.bin
BDF=$(nvme_bdf)
[ -n "$BDF" ] || fail "no NVMe controller found"
step "bind $BDF"
check cb bind "$BDF"
step "load LIO"
export_load_lio
config_snapshot
step "export $BDF through tcm_loop"
export_start --device "$BDF" --tcm-loop
EXPORT_MODEL="QEMU NVMe Ctrl"
EXPORT_DD_CASES="$EXPORT_DD_THREAD_SIZES 1073741824:1"
DISK=$(export_disk)
export_functional_checks "$DISK" "$BLOCKS"
step "stop the export"
export_stop
export_disk_gone
config_unchanged "after a clean stop"
GUEST
}
