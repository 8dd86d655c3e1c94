# Helpers for the VM tests' guest scripts (busybox sh), sourced before each scenario's script.

# Marks the start of a step on the console.
step() { echo "VM-STEP $* (at $(cut -d' ' -f1 /proc/uptime) s)"; }

# Ends the guest script with a failure the runner reports.
fail() { echo "VM-FAIL $*"; exit 1; }

# Runs a command; fails the scenario when it fails.
check() {
    "$@"
    local status=$?
    [ "$status" -eq 0 ] || fail "status $status from: $*"
}

# The PCI address of the n-th (default first) NVMe controller (class 010802).
nvme_bdf() {
    local n=${1:-1} device
    for device in /sys/bus/pci/devices/*; do
        [ "$(cat "$device/class")" = 0x010802 ] && basename "$device"
    done | sed -n "${n}p"
}

# ctrlbench under a time limit (CB_TIMEOUT seconds, default 300), so no step can hang the boot.
cb() { timeout "${CB_TIMEOUT:-300}" /bin/ctrlbench "$@"; }

# Loads the kernel's nvme driver (its modules sit in /modules when the scenario listed them).
load_kernel_nvme() {
    local module
    for module in crct10dif_common crct10dif_generic crc-t10dif crc64 crc64-rocksoft crc64_rocksoft_generic t10-pi nvme-core nvme; do
        [ -f "/modules/$module.ko" ] || fail "module $module is not in the initramfs (add it to VM_MODULES)"
        grep -q "^${module//-/_} " /proc/modules || insmod "/modules/$module.ko" || fail "insmod $module"
    done
}

# Waits up to $2 seconds (default 30) for path $1 to exist.
wait_for() {
    local tries=$(( ${2:-30} * 10 ))
    while [ ! -e "$1" ] && [ "$tries" -gt 0 ]; do sleep 0.1; tries=$((tries - 1)); done
    [ -e "$1" ] || fail "$1 did not appear within ${2:-30} s"
}

# A 16-byte CDB in hex: opcode $1, 8-byte LBA $2, 4-byte length $3 (READ(16) 88h, WRITE(16) 8Ah).
cdb16() { printf '%02x00%016x%08x0000' "$1" "$2" "$3"; }

# `ctrlbench scsi` on $BDF; the report goes to /tmp/scsi.out (and the console on failure).
# Returns ctrlbench's status.
scsi() {
    cb scsi --device "$BDF" "$@" >/tmp/scsi.out 2>&1
    local status=$?
    [ "$status" -eq 0 ] || { echo "ctrlbench scsi $* -> status $status:"; cat /tmp/scsi.out; }
    return "$status"
}

# The dd block size that reads/writes [offset $1, length $2) in whole blocks.
dd_block() {
    if [ $(( $1 % 1048576 )) -eq 0 ] && [ $(( $2 % 1048576 )) -eq 0 ]; then echo 1048576
    elif [ $(( $1 % 4096 )) -eq 0 ] && [ $(( $2 % 4096 )) -eq 0 ]; then echo 4096
    else echo 512; fi
}

# Copies bytes [offset $2, length $3) of file or device $1 to file $4.
slice() {
    local bs
    bs=$(dd_block "$2" "$3")
    dd if="$1" of="$4" bs="$bs" skip=$(( $2 / bs )) count=$(( $3 / bs )) 2>/dev/null || fail "dd from $1 failed"
    [ "$(stat -c %s "$4")" -eq "$3" ] || fail "short read from $1 at $2 ($3 bytes wanted)"
}

# Writes pattern region "bytes:offset:patternOffset" to LUN $2 (block size $3) with one WRITE(16),
# reads it back with one READ(16) and compares.
region_roundtrip() {
    local bytes=${1%%:*} rest=${1#*:} offset pattern_offset
    offset=${rest%%:*}
    pattern_offset=${rest#*:}
    slice /vm/data/pattern.bin "$pattern_offset" "$bytes" /tmp/region.bin
    local lba=$(( offset / $3 )) blocks=$(( bytes / $3 ))
    scsi --lun "$2" --infile /tmp/region.bin --send "$bytes" "$(cdb16 0x8a "$lba" "$blocks")" \
        || fail "WRITE(16) of $bytes bytes at LBA $lba (LUN $2)"
    grep -q "status: GOOD" /tmp/scsi.out || fail "WRITE(16) of $bytes bytes: $(cat /tmp/scsi.out)"
    scsi --lun "$2" --request "$bytes" --outfile /tmp/back.bin "$(cdb16 0x88 "$lba" "$blocks")" \
        || fail "READ(16) of $bytes bytes at LBA $lba (LUN $2)"
    cmp /tmp/region.bin /tmp/back.bin || fail "READ(16) of $bytes bytes at LBA $lba returned other bytes than written"
    rm -f /tmp/back.bin
}

# Reads pattern region $1 through the kernel's block device $2 and compares.
region_kernel_readback() {
    local bytes=${1%%:*} rest=${1#*:} offset pattern_offset
    offset=${rest%%:*}
    pattern_offset=${rest#*:}
    slice /vm/data/pattern.bin "$pattern_offset" "$bytes" /tmp/region.bin
    slice "$2" "$offset" "$bytes" /tmp/kernel.bin
    cmp /tmp/region.bin /tmp/kernel.bin || fail "the kernel's nvme read other bytes at $offset of $2 ($bytes bytes)"
    rm -f /tmp/kernel.bin
}

# Big-endian unsigned integer of $2 bytes at offset $3 of file $1.
be_uint() {
    local value=0 byte
    for byte in $(od -An -tu1 -j "$3" -N "$2" "$1"); do value=$(( value * 256 + byte )); done
    echo "$value"
}

# INQUIRY (SPC-5 6.7.2) on LUN $1: GOOD, peripheral device type 0, T10 vendor "NVMe    " (the
# NVM Express SCSI Translation Reference's value).
check_inquiry() {
    scsi --lun "$1" --request 96 --outfile /tmp/inquiry.bin "12 00 00 00 60 00" || fail "INQUIRY (LUN $1)"
    grep -q "status: GOOD" /tmp/scsi.out || fail "INQUIRY: $(cat /tmp/scsi.out)"
    [ $(( $(be_uint /tmp/inquiry.bin 1 0) & 31 )) -eq 0 ] || fail "INQUIRY: peripheral device type is not 0"
    [ "$(dd if=/tmp/inquiry.bin bs=1 skip=8 count=8 2>/dev/null)" = "NVMe    " ] || fail "INQUIRY: vendor is not 'NVMe    '"
}

# READ CAPACITY(16) (SBC-4 5.20) on LUN $1: GOOD, last LBA $2 - 1, block length $3.
check_capacity() {
    scsi --lun "$1" --request 32 --outfile /tmp/capacity.bin "9e 10 0000000000000000 00000020 00 00" \
        || fail "READ CAPACITY(16) (LUN $1)"
    grep -q "status: GOOD" /tmp/scsi.out || fail "READ CAPACITY(16): $(cat /tmp/scsi.out)"
    local last length
    last=$(be_uint /tmp/capacity.bin 8 0)
    length=$(be_uint /tmp/capacity.bin 4 8)
    [ "$last" -eq $(( $2 - 1 )) ] || fail "READ CAPACITY(16) LUN $1: last LBA $last, expected $(( $2 - 1 ))"
    [ "$length" -eq "$3" ] || fail "READ CAPACITY(16) LUN $1: block length $length, expected $3"
}

# SYNCHRONIZE CACHE(10) (SBC-4 5.24) on LUN $1: GOOD.
check_synchronize_cache() {
    scsi --lun "$1" "35 00 00000000 00 0000 00" || fail "SYNCHRONIZE CACHE(10) (LUN $1)"
    grep -q "status: GOOD" /tmp/scsi.out || fail "SYNCHRONIZE CACHE(10): $(cat /tmp/scsi.out)"
}

# READ(16) of one block at LBA $2 (the first past the end) on LUN $1, block size $3: CHECK
# CONDITION, ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h), per SBC-4 4.5.
check_read_past_end() {
    scsi --lun "$1" --request "$3" "$(cdb16 0x88 "$2" 1)"
    local status=$?
    [ "$status" -ne 0 ] || fail "READ(16) past the end of LUN $1 succeeded"
    grep -q "status: CHECK CONDITION" /tmp/scsi.out || fail "READ past the end: $(cat /tmp/scsi.out)"
    grep -q "sense key: .*(5h)" /tmp/scsi.out || fail "READ past the end: sense key is not ILLEGAL REQUEST: $(cat /tmp/scsi.out)"
    grep -q "ASC/ASCQ: 21h/00h" /tmp/scsi.out || fail "READ past the end: ASC/ASCQ is not 21h/00h: $(cat /tmp/scsi.out)"
}

# ctrlbench bench on $BDF with the given options; checks it succeeded and used data pointers $1.
check_bench() {
    local pointers=$1
    shift
    cb bench --device "$BDF" --pointers "$pointers" "$@" >/tmp/bench.out 2>&1
    local status=$?
    cat /tmp/bench.out
    [ "$status" -eq 0 ] || fail "bench --pointers $pointers $* exited with status $status"
    grep -qi "$pointers" /tmp/bench.out || fail "bench --pointers $pointers: the report does not say $pointers was used"
}

# The bench report in /tmp/bench.out: --verify checked $1 blocks (any number when $1 is empty)
# and found no mismatch.
check_verified() {
    grep -Eq "verify: ${1:-[1-9][0-9]*} blocks checked, 0 mismatched" /tmp/bench.out \
        || fail "bench --verify: not ${1:-some} blocks checked with 0 mismatched: $(grep verify /tmp/bench.out)"
}

# ctrlbench info on $BDF names the controller's MDTS field $1 and what it means in bytes per
# command, $2 (2^MDTS units of CAP.MPSMIN, NVMe Base 2.0 Identify Controller byte 77), the I/O
# queue pairs granted, $3 (Number of Queues, Set Features 07h), and namespace 1 as $4 blocks of
# $5 bytes.
check_info() {
    cb info --device "$BDF" >/tmp/info.out 2>&1
    local status=$?
    cat /tmp/info.out
    [ "$status" -eq 0 ] || fail "info exited with status $status"
    grep -q "^MDTS: $1 -> $2 bytes per command" /tmp/info.out || fail "info does not give MDTS $1 as $2 bytes per command"
    grep -q "^I/O queues: $3 granted" /tmp/info.out || fail "info does not say $3 I/O queue pair(s) were granted"
    grep -q "^  1: $4 blocks x $5 bytes = $(( $4 * $5 )) bytes" /tmp/info.out \
        || fail "info does not give namespace 1 as $4 blocks of $5 bytes"
}

# ctrlbench explain on $BDF plans a read of $1 bytes as $2 NVMe Read commands of at most $3
# bytes each (the controller's MDTS).
check_explain() {
    cb explain --device "$BDF" --bytes "$1" >/tmp/explain.out 2>&1
    local status=$?
    cat /tmp/explain.out
    [ "$status" -eq 0 ] || fail "explain --bytes $1 exited with status $status"
    grep -q "one command carries at most $3 bytes" /tmp/explain.out || fail "explain does not give $3 bytes per command"
    grep -q "^  total: $2 NVMe Read commands" /tmp/explain.out || fail "explain of $1 bytes does not plan $2 Read commands"
}

# bench --bs $1 with --path raw is refused, naming the per-command limit $2 (MDTS).
check_raw_above_mdts_refused() {
    cb bench --device "$BDF" --bs "$1" --path raw --number_ios 1 >/tmp/bench.out 2>&1
    local status=$?
    cat /tmp/bench.out
    [ "$status" -ne 0 ] || fail "bench --bs $1 --path raw was accepted above MDTS"
    grep -q "one command carries 512 to $2 bytes on this controller (MDTS)" /tmp/bench.out \
        || fail "bench --bs $1 --path raw: the refusal does not name the $2-byte limit"
}

# Gives $BDF back to the kernel's nvme driver (find its disks with kernel_disk).
unbind_to_kernel() {
    load_kernel_nvme
    check cb unbind "$BDF" --driver nvme
}

# The kernel's block device for namespace $2 (default 1) of the controller with serial $1, once
# it appears (up to 120 s); names do not say which controller they belong to.
kernel_disk() {
    local tries=1200 disk
    while [ "$tries" -gt 0 ]; do
        for disk in /sys/block/nvme*n${2:-1}; do
            case "${disk##*/}" in nvme*c*n*) continue ;; esac # a multipath path, not the disk
            [ -e "$disk/device/serial" ] || continue
            [ "$(tr -d ' ' <"$disk/device/serial")" = "$1" ] && { echo "/dev/$(basename "$disk")"; return 0; }
        done
        sleep 0.1
        tries=$((tries - 1))
    done
    fail "no kernel block device for namespace ${2:-1} of the controller with serial $1"
}

# After unbind_to_kernel: the kernel's nvme reads back each region ("BYTES:OFFSET:PATTERN_OFFSET",
# $3...) of namespace $2 of the controller with serial $1, as ctrlbench wrote it.
kernel_reads_back() {
    local serial=$1 nsid=$2 disk region
    shift 2
    disk=$(kernel_disk "$serial" "$nsid")
    [ -n "$disk" ] || fail "the kernel did not find namespace $nsid after unbind"
    for region in "$@"; do
        step "kernel reads back ${region%%:*} bytes of namespace $nsid"
        region_kernel_readback "$region" "$disk"
    done
}

# IOPS in a ctrlbench bench report (text or JSON) or fio --minimal output ($1: file, $2: bench|fio).
iops_of() {
    case "$2" in
        fio) awk -F';' 'NF > 8 { printf "%d\n", $8; exit }' "$1" ;;
        *) awk '/"iops"/ { gsub(/[^0-9.]/, "", $NF); printf "%d\n", $NF; exit }
                /^ *IOPS/ { v = $2; if ($3 == "k") v *= 1e3; else if ($3 == "M") v *= 1e6; printf "%d\n", v; exit }' "$1" ;;
    esac
}

# The PCI address of the NVMe controller whose serial is $1 (while the kernel's nvme drives it).
bdf_with_serial() {
    local device controller
    for device in /sys/bus/pci/devices/*; do
        [ "$(cat "$device/class")" = 0x010802 ] || continue
        for controller in "$device"/nvme/nvme*; do
            [ -e "$controller/serial" ] && [ "$(tr -d ' ' <"$controller/serial")" = "$1" ] && basename "$device"
        done
    done | head -n 1
}
