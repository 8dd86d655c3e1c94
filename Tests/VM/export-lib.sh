# Shared by the export-* scenarios (sourced on the host by each scenario file): the modules, the
# host tools copied into the guest, and the guest helpers for `ctrlbench export`.
# shellcheck shell=bash

# Loaded by the init in this order. LIO's own modules are not in the list: target_core_mod must
# find /etc/target/pr when it loads (else every PERSISTENT RESERVE OUT fails NOT READY), and the
# init loads its modules before the scenario runs; so they travel in /vm/data/ko and
# export_load_lio loads them after making the folder.
EXPORT_MODULES="configfs crct10dif_common crct10dif_generic crc-t10dif crc64 crc64-rocksoft crc64_rocksoft_generic t10-pi scsi_common scsi_mod sd_mod sg uio crc32c_generic crc16 mbcache jbd2 ext4"
EXPORT_LIO_MODULES="target_core_mod target_core_user tcm_loop iscsi_target_mod"
# Host package of each tool the guest runs (installed on the host when missing).
EXPORT_TOOLS="sg_inq:sg3-utils sg_vpd:sg3-utils sg_readcap:sg3-utils sg_modes:sg3-utils parted:parted mkfs.ext4:e2fsprogs e2fsck:e2fsprogs dd:coreutils cmp:diffutils"

# Host: installs missing tools ($1 extra "command:package" entries), copies the LIO modules.
export_prepare() {
    local entry missing=()
    for entry in $EXPORT_TOOLS ${1:-}; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]} for the guest"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$LOGS/apt-export.log" 2>&1 \
            || { apt-get update >>"$LOGS/apt-export.log" 2>&1 \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOGS/apt-export.log" 2>&1; } \
            || die "could not install ${missing[*]} (log: $LOGS/apt-export.log)"
    fi
    mkdir -p "$VM_WORK/guest/ko"
    local module
    for module in $EXPORT_LIO_MODULES; do cp "$(module_file "$module")" "$VM_WORK/guest/ko/$module.ko"; done
    # The guest helpers travel as data; each guest script sources them.
    cp "$VM_DIR/export-guest.sh" "$VM_WORK/guest/export-guest.sh"
}

# The tools' commands, for VM_BINARIES.
export_binaries() {
    local entry
    for entry in $EXPORT_TOOLS ${1:-}; do printf '%s ' "${entry%%:*}"; done
}
