# `ctrlbench export --lun-per-namespace` of a mock with two namespaces through tcm_loop: two
# disks appear, each with its own namespace's capacity; distinct data round-trips on each (dd
# direct); and the write cache is the controller's: clearing WCE with MODE SELECT through one LUN
# reads back WCE=0 through the other, which reports the unit attention MODE PARAMETERS CHANGED
# (2Ah/01h) once (SPC-5 for a parameter shared between logical units), while the issuing LUN
# reports none. Setting it again through the other LUN shows the same the other way round.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$EXPORT_MODULES"
EXPORT_LUNS_TOOLS="sdparm:sdparm sg_turs:sg3-utils"
VM_BINARIES="$(export_binaries "$EXPORT_LUNS_TOOLS")"
VM_TIMEOUT_S=900
VM_MEMORY_MB=2048

vm_prepare() {
    export_prepare "$EXPORT_LUNS_TOOLS"
    head -c $(( 8 * 1048576 )) /dev/urandom >"$VM_WORK/guest/pattern.bin"
}

vm_guest() {
    cat <<'GUEST'
. /vm/data/export-guest.sh
BLOCKS=131072
# The current WCE of disk $1, as sdparm reads it (MODE SENSE, Caching page).
wce_of() { sdparm --get=WCE "$1" 2>/dev/null | awk '$1 == "WCE" { print $2 }'; }
# TEST UNIT READY on disk $1; prints sg_turs's exit status (6: a unit attention) and keeps its
# output in /tmp/tur.out.
tur_status() { sg_turs -v "$1" >/tmp/tur.out 2>&1; echo $?; }
# Disk $1 reports the unit attention MODE PARAMETERS CHANGED once, then none.
expect_parameters_changed() {
    local status
    status=$(tur_status "$1")
    cat /tmp/tur.out
    [ "$status" -eq 6 ] || fail "$1: TEST UNIT READY returned status $status, not a unit attention (6)"
    grep -qi "mode parameters changed" /tmp/tur.out || fail "$1: the unit attention is not MODE PARAMETERS CHANGED"
    status=$(tur_status "$1")
    [ "$status" -eq 0 ] || { cat /tmp/tur.out; fail "$1: the unit attention was reported more than once (status $status)"; }
}
# Disk $1 reports no unit attention.
expect_no_attention() {
    local status
    status=$(tur_status "$1")
    [ "$status" -eq 0 ] || { cat /tmp/tur.out; fail "$1: TEST UNIT READY returned status $status, expected GOOD"; }
}

cp /vm/data/pattern.bin /tmp/pattern.bin
step "load LIO"
export_load_lio
config_snapshot
step "export a mock with two namespaces, one LUN each, through tcm_loop"
export_start --device mock --mock-namespaces 2 --mock-blocks $BLOCKS --lun-per-namespace --tcm-loop
DISK0=$(export_disk_of_lun 0)
DISK1=$(export_disk_of_lun 1)
[ "$DISK0" != "$DISK1" ] || fail "LUN 0 and LUN 1 are the same disk $DISK0"
step "LUN 0 is $DISK0, LUN 1 is $DISK1"
for disk in "$DISK0" "$DISK1"; do
    sectors=$(cat "/sys/block/${disk#/dev/}/size")
    [ "$sectors" -eq "$BLOCKS" ] || fail "$disk has $sectors sectors, not its namespace's $BLOCKS"
    sg_check sg_readcap --long "$disk"
    grep -q "Last LBA=$((BLOCKS - 1))" /tmp/sg.out || fail "sg_readcap $disk: last LBA is not $((BLOCKS - 1))"
done

step "distinct data on each LUN round-trips (dd direct)"
dd if=/tmp/pattern.bin of=/tmp/want0.bin bs=1048576 count=4 2>/dev/null
dd if=/tmp/pattern.bin of=/tmp/want1.bin bs=1048576 skip=4 count=4 2>/dev/null
cmp -s /tmp/want0.bin /tmp/want1.bin && fail "the two patterns are equal: the check could not tell the LUNs apart"
dd if=/tmp/want0.bin of="$DISK0" bs=1048576 seek=8 count=4 oflag=direct 2>/dev/null || fail "dd write to $DISK0"
dd if=/tmp/want1.bin of="$DISK1" bs=1048576 seek=8 count=4 oflag=direct 2>/dev/null || fail "dd write to $DISK1"
dd if="$DISK0" of=/tmp/got0.bin bs=1048576 skip=8 count=4 iflag=direct 2>/dev/null || fail "dd read from $DISK0"
dd if="$DISK1" of=/tmp/got1.bin bs=1048576 skip=8 count=4 iflag=direct 2>/dev/null || fail "dd read from $DISK1"
cmp /tmp/want0.bin /tmp/got0.bin || fail "LUN 0 read back other bytes than written to it"
cmp /tmp/want1.bin /tmp/got1.bin || fail "LUN 1 read back other bytes than written to it"

step "the write cache is controller-wide"
# Any unit attention left from the attach is taken first.
tur_status "$DISK0" >/dev/null; tur_status "$DISK1" >/dev/null
expect_no_attention "$DISK0"
expect_no_attention "$DISK1"
[ "$(wce_of "$DISK0")" = 1 ] || fail "LUN 0 does not start with WCE=1: $(sdparm --get=WCE "$DISK0" 2>&1)"
[ "$(wce_of "$DISK1")" = 1 ] || fail "LUN 1 does not start with WCE=1: $(sdparm --get=WCE "$DISK1" 2>&1)"
# MODE SELECT through one LUN ($1, WCE to $3) reaches the other ($2) as MODE PARAMETERS CHANGED,
# once, and both then read back the new WCE.
change_wce_through() {
    local through=$1 other=$2 value=$3 disk
    if [ "$value" = 0 ]; then check sdparm --clear=WCE "$through"; else check sdparm --set=WCE "$through"; fi
    expect_no_attention "$through"
    expect_parameters_changed "$other"
    for disk in "$other" "$through"; do
        [ "$(wce_of "$disk")" = "$value" ] || fail "WCE=$value through $through reads back on $disk as: $(sdparm --get=WCE "$disk" 2>&1)"
    done
}
step "MODE SELECT WCE=0 through LUN 0"
change_wce_through "$DISK0" "$DISK1" 0
step "MODE SELECT WCE=1 through LUN 1"
change_wce_through "$DISK1" "$DISK0" 1
step "the data is still there after the cache changes"
dd if="$DISK0" of=/tmp/got0.bin bs=1048576 skip=8 count=4 iflag=direct 2>/dev/null || fail "dd read from $DISK0"
dd if="$DISK1" of=/tmp/got1.bin bs=1048576 skip=8 count=4 iflag=direct 2>/dev/null || fail "dd read from $DISK1"
cmp /tmp/want0.bin /tmp/got0.bin || fail "LUN 0 lost its data"
cmp /tmp/want1.bin /tmp/got1.bin || fail "LUN 1 lost its data"

step "stop the export"
export_stop
export_disk_gone
config_unchanged "after a clean stop"
GUEST
}
