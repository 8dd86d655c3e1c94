# Guest helpers of the export-* scenarios (busybox sh), sourced by their guest scripts after
# guest-lib.sh: load LIO, start and stop `ctrlbench export`, find its disk, round-trip data.

# Makes /etc/target/pr, loads LIO's modules in order, mounts configfs, brings loopback up.
export_load_lio() {
    mkdir -p /etc/target/pr
    local module
    for module in target_core_mod target_core_user tcm_loop iscsi_target_mod; do
        grep -q "^$module " /proc/modules || insmod "/vm/data/ko/$module.ko" || fail "insmod $module"
    done
    grep -q " /sys/kernel/config configfs" /proc/mounts || mount -t configfs none /sys/kernel/config || fail "mount configfs"
    ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
}

# Starts `ctrlbench export "$@"` in the background (log /tmp/export.log); waits until it serves.
# Sets EXPORT_PID.
export_start() {
    /bin/ctrlbench export "$@" >/tmp/export.log 2>&1 &
    EXPORT_PID=$!
    # Up to 180 s: removing a killed run's LUNs first waits for the kernel to drop its disk.
    local tries=1800
    while ! grep -q "^serving" /tmp/export.log; do
        kill -0 "$EXPORT_PID" 2>/dev/null || { cat /tmp/export.log; fail "ctrlbench export exited: $(tail -n 3 /tmp/export.log)"; }
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || { cat /tmp/export.log; fail "ctrlbench export did not start serving in 180 s"; }
        sleep 0.1
    done
    cat /tmp/export.log
}

# Stops the export with SIGTERM and checks it stopped cleanly (exit 0, "stopped cleanly").
export_stop() {
    kill -TERM "$EXPORT_PID"
    wait "$EXPORT_PID"
    local status=$?
    cat /tmp/export.log
    [ "$status" -eq 0 ] || fail "ctrlbench export exited with status $status on SIGTERM"
    grep -q "stopped cleanly" /tmp/export.log || fail "ctrlbench export did not stop cleanly"
}

# The /dev/sdX of the export's tcm_loop LUN (its INQUIRY model is the mock's), once it appears.
export_disk() { export_disk_of_lun ""; }

# Waits until no SCSI disk of the export is left (after the fabric went).
export_disk_gone() {
    local tries=600 disk found
    while [ "$tries" -gt 0 ]; do
        found=0
        for disk in /sys/block/sd*; do [ -e "$disk/device/model" ] && found=1; done
        [ "$found" -eq 0 ] && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    fail "the export's SCSI disk is still there 60 s after the export stopped"
}

# Drops the page cache, so the next buffered read reaches the device.
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# Writes COUNT blocks of BS to DISK at byte OFFSET with one dd, reads them back with one dd the
# same way after dropping the page cache, and compares: $1 disk, $2 bs (bytes), $3 count, $4 offset
# (a multiple of bs), $5 direct|buffered. Each dd must move whole blocks only. The bytes come from
# /tmp/pattern.bin when it is long enough, else (the thread's 1 GiB blocks) from a random piece of
# 33 MiB + 1 byte repeated: no two sector-aligned places within 16 GiB hold the same bytes, so a
# piece written or read at a wrong offset still shows, and the guest makes 33 MiB of randomness,
# not 1 GiB. Files in the guest's RAM and no pipe: a pipe moves about 13 MB/s under TCG.
dd_roundtrip() {
    local disk=$1 bs=$2 count=$3 offset=$4 mode=$5 oflag="" iflag="" bytes=$(( $2 * $3 ))
    [ "$mode" = direct ] && { oflag="oflag=direct"; iflag="iflag=direct"; }
    if [ -f /tmp/pattern.bin ] && [ "$(wc -c </tmp/pattern.bin)" -ge "$bytes" ]; then
        dd if=/tmp/pattern.bin of=/tmp/want.bin bs="$bs" count="$count" 2>/dev/null || fail "dd from the pattern"
    else
        repeated_random_file /tmp/want.bin "$bytes"
    fi
    step "dd bs=$bs count=$count $mode: the write"
    # shellcheck disable=SC2086
    dd if=/tmp/want.bin of="$disk" bs="$bs" count="$count" seek=$((offset / bs)) $oflag conv=notrunc 2>/tmp/dd.err \
        || fail "dd write bs=$bs $mode: $(cat /tmp/dd.err)"
    grep -q "^$count+0 records out" /tmp/dd.err || fail "dd write bs=$bs $mode did not write $count whole blocks: $(cat /tmp/dd.err)"
    drop_caches
    step "dd bs=$bs count=$count $mode: the read"
    # shellcheck disable=SC2086
    dd if="$disk" of=/tmp/got.bin bs="$bs" count="$count" skip=$((offset / bs)) $iflag 2>/tmp/dd.err \
        || fail "dd read bs=$bs $mode: $(cat /tmp/dd.err)"
    grep -q "^$count+0 records in" /tmp/dd.err || fail "dd read bs=$bs $mode did not read $count whole blocks: $(cat /tmp/dd.err)"
    step "dd bs=$bs count=$count $mode: the comparison"
    cmp -n "$bytes" /tmp/want.bin /tmp/got.bin || fail "dd bs=$bs $mode: read back other bytes than written at $offset"
    rm -f /tmp/want.bin /tmp/got.bin
}

# Makes file $1 of at least $2 bytes: a random piece of 33 MiB + 1 byte, repeated (dd_roundtrip).
repeated_random_file() {
    local file=$1 piece=$(( 33 * 1048576 + 1 )) copies index=0
    dd if=/dev/urandom of=/tmp/piece.bin bs="$piece" count=1 iflag=fullblock 2>/dev/null || fail "a random piece"
    copies=$(( ($2 + piece - 1) / piece ))
    rm -f "$file"
    while [ "$index" -lt "$copies" ]; do
        dd if=/tmp/piece.bin of="$file" bs="$piece" seek="$index" count=1 conv=notrunc 2>/dev/null || fail "building $file"
        index=$((index + 1))
    done
    rm -f /tmp/piece.bin
}

# What sg3_utils print when a response does not decode ("[invalid]" is a field's decoded value, and
# mode page names contain "error", so neither counts).
SG_COMPLAINTS="warning|malformed|too short|truncat|unexpected|bad |corrupt|inconsistent"

# Runs an sg3_utils command; fails on a non-zero status or a line that complains about the data.
sg_check() {
    "$@" >/tmp/sg.out 2>&1
    local status=$?
    cat /tmp/sg.out
    [ "$status" -eq 0 ] || fail "$* exited with status $status"
    if grep -Eiq "$SG_COMPLAINTS" /tmp/sg.out; then
        fail "$* complained: $(grep -Ei "$SG_COMPLAINTS" /tmp/sg.out | head -n 2)"
    fi
}

# The thread's block sizes up to 10 MiB, as "bs:count" pairs: what every export's dd round trips
# cover (a scenario sets EXPORT_DD_CASES to add to them).
EXPORT_DD_THREAD_SIZES="65536:16 131072:8 524288:4 786432:4 10485760:2"

# The functional set on disk $1 of $2 512-byte blocks: sg3_utils decode our INQUIRY, VPD pages,
# READ CAPACITY and mode pages without complaint; dd round-trips at the thread's block sizes
# ($EXPORT_DD_CASES, by default $EXPORT_DD_THREAD_SIZES), direct and buffered, each at its own
# offset; parted (gpt), mkfs.ext4, mount, write, umount, fsck -f clean, and the file reads back.
export_functional_checks() {
    local disk=$1 blocks=$2 page name offset case mode bs count span
    step "disk $disk: $(cat /sys/block/${disk#/dev/}/size) sectors, max_sectors_kb $(cat /sys/block/${disk#/dev/}/queue/max_sectors_kb)"
    [ "$(cat /sys/block/${disk#/dev/}/size)" -eq "$blocks" ] || fail "the disk has $(cat /sys/block/${disk#/dev/}/size) sectors, not $blocks"
    step "sg_inq"; sg_check sg_inq "$disk"
    grep -q "Vendor identification: NVMe" /tmp/sg.out || fail "sg_inq: vendor is not NVMe"
    step "sg_vpd supported pages"; sg_check sg_vpd --page=0x00 "$disk"
    cp /tmp/sg.out /tmp/vpd-pages.out
    for page in sn:"Unit serial" di:"Device identification" bl:"Block limits" bdc:"Block device characteristics" lbpv:"Logical block provisioning"; do
        name=${page#*:}
        grep -qi "$name" /tmp/vpd-pages.out || continue
        step "sg_vpd ${page%%:*}"; sg_check sg_vpd --page="${page%%:*}" "$disk"
    done
    step "sg_readcap"; sg_check sg_readcap --long "$disk"
    grep -q "Last LBA=$((blocks - 1))" /tmp/sg.out || fail "sg_readcap: last LBA is not $((blocks - 1))"
    grep -q "Logical block length=512" /tmp/sg.out || fail "sg_readcap: block length is not 512"
    step "sg_modes"; sg_check sg_modes --all "$disk"
    grep -qi "caching" /tmp/sg.out || fail "sg_modes: no Caching mode page"
    offset=0
    for case in ${EXPORT_DD_CASES:-$EXPORT_DD_THREAD_SIZES}; do
        bs=${case%%:*}
        count=${case#*:}
        for mode in direct buffered; do
            # Each case at its own offset, a multiple of its block size, 32 MiB apart at least.
            offset=$(( (offset + bs - 1) / bs * bs ))
            step "dd bs=$bs count=$count $mode at $offset"
            dd_roundtrip "$disk" "$bs" "$count" "$offset" "$mode"
            span=$((bs * count))
            [ "$span" -ge 33554432 ] || span=33554432
            offset=$((offset + span))
        done
    done
    step "parted gpt, mkfs.ext4, mount, write, umount, fsck -f"
    check parted -s "$disk" mklabel gpt mkpart data ext4 1MiB 100%
    wait_for "${disk}1" 30
    check mkfs.ext4 -q -F "${disk}1"
    mkdir -p /mnt
    check mount -t ext4 "${disk}1" /mnt
    check cp /tmp/pattern.bin /mnt/pattern.bin
    check umount /mnt
    check e2fsck -f -n "${disk}1"
    check mount -t ext4 "${disk}1" /mnt
    cmp /tmp/pattern.bin /mnt/pattern.bin || fail "the file read back from ext4 differs"
    check umount /mnt
}

# Records configfs's tree (before an export) in /tmp/config-before.txt.
config_snapshot() { find /sys/kernel/config | sort >/tmp/config-before.txt; }

# Fails, showing the difference, unless configfs is as config_snapshot recorded it.
config_unchanged() {
    find /sys/kernel/config | sort >/tmp/config-after.txt
    cmp -s /tmp/config-before.txt /tmp/config-after.txt && return 0
    diff /tmp/config-before.txt /tmp/config-after.txt | head -n 20
    fail "configfs is not as it was before the export ($1)"
}

# The /dev/sdX of the export's tcm_loop LUN $1 (the last field of its H:C:T:L; empty: any LUN),
# once it appears.
export_disk_of_lun() {
    local lun=$1 tries=600 disk
    while [ "$tries" -gt 0 ]; do
        for disk in /sys/block/sd*; do
            [ -e "$disk/device/model" ] || continue
            case "$(cat "$disk/device/model")" in "${EXPORT_MODEL:-SwiftNVMe Mock C}"*) ;; *) continue ;; esac
            if [ -n "$lun" ]; then
                case "$(basename "$(readlink "$disk/device")")" in *":$lun") ;; *) continue ;; esac
            fi
            [ "$(cat "$disk/size")" -gt 0 ] && { echo "/dev/${disk##*/}"; return 0; }
        done
        sleep 0.1
        tries=$((tries - 1))
    done
    fail "no SCSI disk for the export's LUN ${lun:-(any)} appeared in 60 s"
}
