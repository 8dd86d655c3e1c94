# The thread's largest block size, by hand (`bash Tests/VM/run.sh export-full`; not in CI): dd with
# bs=1g, direct then buffered, through `ctrlbench export` of the mock and tcm_loop, each block
# written at its own offset, read back after dropping the page cache, and compared. Not in CI
# because the guest must hold the 1 GiB block three times (the file written, dd's buffer, the
# file read back) besides the mock's own 2 GiB of data and the page cache: 7 GiB of guest RAM,
# and several minutes of TCG, against export-tcmloop's 2 GiB and one minute.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$EXPORT_MODULES"
VM_BINARIES="$(export_binaries)"
VM_TIMEOUT_S=2400
VM_MEMORY_MB=7168

vm_prepare() { export_prepare; }

vm_guest() {
    cat <<'GUEST'
. /vm/data/export-guest.sh
GIB=1073741824
step "load LIO, export the mock (2 GiB) through tcm_loop"
export_load_lio
config_snapshot
export_start --device mock --mock-blocks 4194304 --tcm-loop
DISK=$(export_disk)
step "a 1 GiB pattern"
dd if=/dev/urandom of=/tmp/want.bin bs=1048576 count=1024 2>/dev/null || fail "pattern"
offset=0
for mode in direct buffered; do
    oflag=""; iflag=""
    [ "$mode" = direct ] && { oflag="oflag=direct"; iflag="iflag=direct"; }
    step "dd bs=1g count=1 $mode at $offset"
    # shellcheck disable=SC2086
    dd if=/tmp/want.bin of="$DISK" bs=1G count=1 seek=$((offset / GIB)) $oflag conv=notrunc 2>/tmp/dd.err \
        || fail "dd write bs=1g $mode: $(cat /tmp/dd.err)"
    drop_caches
    # shellcheck disable=SC2086
    dd if="$DISK" of=/tmp/got.bin bs=1G count=1 skip=$((offset / GIB)) $iflag 2>/tmp/dd.err \
        || fail "dd read bs=1g $mode: $(cat /tmp/dd.err)"
    cmp /tmp/want.bin /tmp/got.bin || fail "dd bs=1g $mode: read back other bytes than written"
    rm -f /tmp/got.bin
    offset=$((offset + GIB))
done
step "stop the export"
export_stop
export_disk_gone
config_unchanged "after a clean stop"
GUEST
}
