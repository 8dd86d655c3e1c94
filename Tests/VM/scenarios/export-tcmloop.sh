# `ctrlbench export` of the file-backed mock through tcm_loop: the kernel's sd drives our SCSI
# layer. The disk appears; sg3_utils decode INQUIRY, VPD, READ CAPACITY and the mode pages; dd
# round-trips at the thread's block sizes, direct and buffered (CI sizes: up to 10 MiB blocks,
# 1 GiB ones are in export-full); parted, mkfs.ext4, mount, write, umount and fsck -f are clean;
# a clean stop keeps a buffered write (the teardown's SYNCHRONIZE CACHE), and SIGKILL after an
# unsynced write loses it, which shows the check can fail.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$EXPORT_MODULES"
VM_BINARIES="$(export_binaries)"
VM_TIMEOUT_S=1500
VM_MEMORY_MB=2048

vm_prepare() {
    export_prepare
    head -c $(( 20 * 1048576 )) /dev/urandom >"$VM_WORK/guest/pattern.bin"
}

vm_guest() {
    cat <<'GUEST'
. /vm/data/export-guest.sh
cp /vm/data/pattern.bin /tmp/pattern.bin
BLOCKS=1048576
EXPORT_ARGS="--device mock --backing /tmp/disk.img --mock-blocks $BLOCKS --tcm-loop"
step "load LIO"
export_load_lio
step "ctrlbench export with a missing prerequisite explains it"
umount /sys/kernel/config
/bin/ctrlbench export --device mock --tcm-loop >/tmp/pre.out 2>&1 && fail "export ran without configfs"
cat /tmp/pre.out
grep -q "mount -t configfs none /sys/kernel/config" /tmp/pre.out || fail "the missing configfs mount was not explained"
mount -t configfs none /sys/kernel/config
config_snapshot

step "export the mock through tcm_loop"
export_start $EXPORT_ARGS
DISK=$(export_disk)
export_functional_checks "$DISK" "$BLOCKS"

step "teardown flush: a buffered write, a clean stop"
# Past the partition's data in use: the last 4 MiB of the disk.
FLUSH_AT=$(( BLOCKS * 512 - 4194304 ))
dd if=/tmp/pattern.bin of="$DISK" bs=1048576 seek=$((FLUSH_AT / 1048576)) count=4 conv=notrunc 2>/dev/null || fail "buffered write"
sync
export_stop
export_disk_gone
config_unchanged "after a clean stop"
step "the mock's power is off; a new export reads the write back"
export_start $EXPORT_ARGS
DISK=$(export_disk)
dd if="$DISK" of=/tmp/back.bin bs=1048576 skip=$((FLUSH_AT / 1048576)) count=4 iflag=direct 2>/dev/null || fail "read back"
dd if=/tmp/pattern.bin of=/tmp/want.bin bs=1048576 count=4 2>/dev/null
cmp /tmp/want.bin /tmp/back.bin || fail "the buffered write did not survive a clean stop"

step "SIGKILL after an unsynced write loses it (the thread's lost write)"
KILL_AT=$(( FLUSH_AT - 4194304 ))
dd if="$DISK" of=/tmp/old.bin bs=1048576 skip=$((KILL_AT / 1048576)) count=4 iflag=direct 2>/dev/null || fail "read the old bytes"
dd if=/tmp/pattern.bin of=/tmp/new.bin bs=1048576 skip=8 count=4 2>/dev/null
cmp -s /tmp/old.bin /tmp/new.bin && fail "the new bytes equal the old ones: the loss could not show"
dd if=/tmp/new.bin of="$DISK" bs=1048576 seek=$((KILL_AT / 1048576)) count=4 conv=notrunc 2>/dev/null || fail "buffered write"
sync
kill -KILL "$EXPORT_PID"
wait "$EXPORT_PID" 2>/dev/null
step "a new export cleans the killed one's configfs and sees the loss"
export_start $EXPORT_ARGS
grep -q "removed stale backstore" /tmp/export.log || fail "the killed export's backstore was not reported removed"
DISK=$(export_disk)
dd if="$DISK" of=/tmp/back.bin bs=1048576 skip=$((KILL_AT / 1048576)) count=4 iflag=direct 2>/dev/null || fail "read back"
cmp -s /tmp/new.bin /tmp/back.bin && fail "the unsynced write survived SIGKILL: this check cannot fail"
cmp -s /tmp/old.bin /tmp/back.bin || fail "after SIGKILL the region holds neither the old bytes nor the new ones"
step "the region holds what it held before the lost write"
export_stop
config_unchanged "after the last export"
GUEST
}
