# The thread's largest block size on the mock, by hand (`bash Tests/VM/run.sh export-full`; CI
# runs the same 1 GiB round trips on QEMU's controller in export-vfio): dd with bs=1g, direct then
# buffered, through `ctrlbench export` of the in-memory mock and tcm_loop, each block written at
# its own offset with one dd write, read back with one dd read after dropping the page cache, and
# compared (dd_roundtrip). Not in CI because the guest holds the mock's 2 GiB of data
# besides the blocks written and read, dd's buffer and TCMU's data area: 7 GiB of guest RAM.
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
step "load LIO, export the mock (3 GiB) through tcm_loop"
export_load_lio
config_snapshot
export_start --device mock --mock-blocks 6291456 --tcm-loop
DISK=$(export_disk)
dd_roundtrip "$DISK" "$GIB" 1 "$GIB" direct
dd_roundtrip "$DISK" "$GIB" 1 $((2 * GIB)) buffered
step "stop the export"
export_stop
export_disk_gone
config_unchanged "after a clean stop"
GUEST
}
