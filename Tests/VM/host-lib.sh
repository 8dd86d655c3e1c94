# Host side of the VM tests, sourced by run.sh and perf.sh (bash): packages, the guest kernel,
# the static ctrlbench, the initramfs, the boot and the console checks.
# Expects ROOT, VM_DIR, CACHE and LOGS to be set.

die() { echo "vm: $*" >&2; exit 1; }

STAGE_NAME=""
STAGE_START=0
stage() { STAGE_NAME=$1; STAGE_START=$(date +%s); echo "== vm: $STAGE_NAME"; }
stage_done() { echo "== vm: $STAGE_NAME took $(( $(date +%s) - STAGE_START )) s"; }

# Host commands and the Debian packages that provide them.
VM_HOST_PACKAGES="qemu-system-x86_64:qemu-system-x86 cpio:cpio fio:fio cmp:diffutils timeout:coreutils"

vm_install_packages() {
    local missing=() entry
    for entry in $VM_HOST_PACKAGES; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
    done
    # The guest needs a statically linked busybox (busybox-static; plain busybox is dynamic).
    if ! file_is_static /bin/busybox; then missing+=(busybox-static); fi
    [ "${#missing[@]}" -eq 0 ] && { echo "all present"; return 0; }
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run as root, or install them: apt-get install ${missing[*]}"
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 \
        || { apt-get update >>"$LOGS/apt.log" 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1; } \
        || { tail -n 20 "$LOGS/apt.log"; die "could not install ${missing[*]} (log: $LOGS/apt.log)"; }
    file_is_static /bin/busybox || die "/bin/busybox is not statically linked; install busybox-static"
}

# True when $1 is a statically linked executable.
file_is_static() {
    [ -x "$1" ] || return 1
    local out
    out=$(LC_ALL=C ldd "$1" 2>&1 || true)
    [[ "$out" =~ "not a dynamic executable"|"statically linked" ]]
}

# Debian's current 6.1 kernel image package (what linux-image-amd64 depends on), unpacked once
# into the cache. Sets VM_KERNEL (the vmlinuz) and VM_MODULE_DIR.
vm_fetch_kernel() {
    local package
    package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$package" ]; then
        apt-get update >"$LOGS/apt.log" 2>&1 || true
        package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$package" ] || package=$(ls -d "$CACHE"/linux-image-*/ 2>/dev/null | tail -n 1 | xargs -r basename)
    [ -n "$package" ] || die "cannot find Debian's linux-image-amd64 dependency (apt-cache depends linux-image-amd64)"
    local unpacked=$CACHE/$package
    if [ ! -d "$unpacked/boot" ]; then
        echo "fetching $package"
        rm -rf "$CACHE/download" "$unpacked.partial"
        mkdir -p "$CACHE/download"
        # apt-get download writes as the _apt user when it can; the cache folder may not be its.
        (cd "$CACHE/download" && apt-get download "$package" >"$LOGS/kernel-download.log" 2>&1) \
            || { tail -n 5 "$LOGS/kernel-download.log"; die "apt-get download $package failed"; }
        dpkg -x "$CACHE"/download/"$package"_*.deb "$unpacked.partial"
        mv "$unpacked.partial" "$unpacked"
        rm -rf "$CACHE/download"
    fi
    VM_KERNEL=$(ls "$unpacked"/boot/vmlinuz-* | head -n 1)
    VM_MODULE_DIR=$(ls -d "$unpacked"/lib/modules/* | head -n 1)
    echo "kernel: $VM_KERNEL"
}

# One static ctrlbench shared by every boot. Sets VM_CTRLBENCH.
vm_build_ctrlbench() {
    if [ -n "${VM_CTRLBENCH:-}" ]; then
        [ -x "$VM_CTRLBENCH" ] || die "VM_CTRLBENCH=$VM_CTRLBENCH is not an executable"
        echo "using $VM_CTRLBENCH"
        return 0
    fi
    local args=(-c release --static-swift-stdlib --scratch-path "$ROOT/.build-static" --product ctrlbench)
    (cd "$ROOT" && swift build "${args[@]}" >"$LOGS/static-build.log" 2>&1) \
        || { tail -n 40 "$LOGS/static-build.log"; die "static build failed (log: $LOGS/static-build.log)"; }
    VM_CTRLBENCH=$(cd "$ROOT" && swift build "${args[@]}" --show-bin-path)/ctrlbench
    echo "built $VM_CTRLBENCH"
}

# Copies executable $1 into the tree at $2 as bin/NAME ($3, default its own name), with every
# library ldd lists.
copy_with_libraries() {
    local binary=$1 tree=$2 name=${3:-$(basename "$1")} library
    mkdir -p "$tree/bin"
    cp -L "$binary" "$tree/bin/$name"
    for library in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
        [ -e "$tree$library" ] && continue
        mkdir -p "$tree$(dirname "$library")"
        cp -L "$library" "$tree$library"
    done
}

# The .ko file of kernel module $1 (dashes and underscores are interchangeable in names).
module_file() {
    local name=$1 file
    file=$(find "$VM_MODULE_DIR" \( -name "$name.ko" -o -name "${name//-/_}.ko" -o -name "${name//_/-}.ko" \) | head -n 1)
    [ -n "$file" ] || die "module $name not found under $VM_MODULE_DIR (compressed modules are not handled)"
    echo "$file"
}

# Builds the initramfs for the sourced scenario into $VM_WORK/initrd.
vm_make_initramfs() {
    local tree=$VM_WORK/root module binary
    mkdir -p "$tree"/{bin,proc,sys,dev,tmp,run,modules,vm/data}
    cp /bin/busybox "$tree/bin/busybox"
    copy_with_libraries "$VM_CTRLBENCH" "$tree" ctrlbench
    for binary in ${VM_BINARIES:-}; do copy_with_libraries "$(command -v "$binary")" "$tree"; done
    : >"$tree/vm/modules"
    for module in ${VM_MODULES:-}; do
        cp "$(module_file "$module")" "$tree/modules/$module.ko"
        echo "$module" >>"$tree/vm/modules"
    done
    cp "$VM_DIR/guest-init.sh" "$tree/init"
    chmod +x "$tree/init"
    cp "$VM_DIR/guest-lib.sh" "$tree/vm/guest-lib.sh"
    vm_guest >"$tree/vm/scenario.sh"
    if [ -d "$VM_WORK/guest" ]; then cp -r "$VM_WORK/guest/." "$tree/vm/data/"; fi
    # Uncompressed: the pattern files do not compress, and the kernel unpacks it faster.
    (cd "$tree" && find . | cpio -o -H newc --quiet) >"$VM_WORK/initrd"
    echo "initramfs: $(( $(stat -c %s "$VM_WORK/initrd") / 1048576 )) MiB"
}

# The accelerator and CPU: TCG, which works everywhere; VM_ACCEL=kvm asks for KVM (nested KVM on
# a cloud VM may fail or hang, which is why it is not the default).
vm_accelerator() {
    case "${VM_ACCEL:-tcg}" in
        kvm) echo "-accel kvm -cpu host" ;;
        *) echo "-accel tcg -cpu max" ;;
    esac
}

# Boots $VM_WORK/initrd with the scenario's devices; the console goes to $1. Returns QEMU's
# status, 124 on timeout.
vm_boot() {
    local console=$1 status=0
    # shellcheck disable=SC2046
    timeout --kill-after=20 "$VM_TIMEOUT_S" qemu-system-x86_64 $(vm_accelerator) \
        -M q35,kernel-irqchip=split -m "$VM_MEMORY_MB" -smp "$VM_SMP" \
        -device intel-iommu,intremap=on,caching-mode=on \
        -nodefaults -display none -monitor none -serial "file:$console" -no-reboot \
        -kernel "$VM_KERNEL" -initrd "$VM_WORK/initrd" \
        -append "console=ttyS0 intel_iommu=on quiet panic=-1 no_timer_check ${VM_APPEND:-}" \
        "${VM_QEMU_ARGS[@]}" </dev/null >"$VM_WORK/qemu.out" 2>&1 || status=$?
    return "$status"
}

# Console lines that fail a boot whatever the scenario: kernel crashes, and the driver's own
# error lines (swift-log "error"/"critical", a failed unmap, a Swift runtime trap).
VM_KERNEL_ERRORS='Kernel panic|Oops|BUG:|general protection fault|Call Trace:'
VM_DRIVER_ERRORS='DMA unmap .* failed|leaking the buffer|Fatal error|^[^ ]+ (error|critical) |Segmentation fault|Illegal instruction'
VM_DMAR_FAULT='DMAR: \[DMA (Read|Write)|DMAR:.*fault addr'

# Checks console $1 against the scenario's expectations; prints what is wrong, returns 1 then.
vm_check_console() {
    local console=$1 problems=()
    grep -q '^VM-PASS' "$console" || problems+=("no VM-PASS line")
    grep -q '^VM-FAIL' "$console" && problems+=("$(grep -m 3 '^VM-FAIL' "$console" | tr '\n' ' ')")
    grep -Eq "$VM_KERNEL_ERRORS" "$console" && problems+=("kernel error: $(grep -Em 1 "$VM_KERNEL_ERRORS" "$console")")
    local driver
    # Lines a scenario marks VM-EXPECTED (output of a step meant to fail) are not counted.
    driver=$(grep -v '^VM-EXPECTED ' "$console" | grep -E "$VM_DRIVER_ERRORS" | head -n 3 || true)
    [ -n "$driver" ] && problems+=("driver error line(s): $driver")
    if [ "${VM_EXPECT_DMAR_FAULT:-0}" != 1 ] && grep -Eq "$VM_DMAR_FAULT" "$console"; then
        problems+=("unexpected DMAR fault: $(grep -Em 1 "$VM_DMAR_FAULT" "$console")")
    fi
    [ "${#problems[@]}" -eq 0 ] && return 0
    printf '  %s\n' "${problems[@]}"
    return 1
}

# Runs scenario $1 (called in a subshell, so its definitions stay there).
vm_run_scenario() {
    local name=$1 console status=0
    VM_MEMORY_MB=2048 VM_TIMEOUT_S=600 VM_SMP=2 VM_MODULES="" VM_BINARIES="" VM_APPEND=""
    VM_EXPECT_DMAR_FAULT=0
    VM_QEMU_ARGS=()
    vm_prepare() { :; }
    vm_verify() { :; }
    # shellcheck source=/dev/null
    source "$VM_DIR/scenarios/$name.sh"
    VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vm-$name.XXXXXX")
    trap 'rm -rf "$VM_WORK"' EXIT
    console=$LOGS/$name.log
    rm -f "$console"
    vm_prepare
    vm_make_initramfs
    local boot_start
    boot_start=$(date +%s)
    vm_boot "$console" || status=$?
    echo "boot: $(( $(date +%s) - boot_start )) s, QEMU status $status ($(vm_accelerator))"
    grep -E '^VM-(STEP|PASS|FAIL)' "$console" | sed 's/^/  /' || true
    local ok=1
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "  timed out after $VM_TIMEOUT_S s"
        ok=0
    elif [ "$status" -ne 0 ]; then
        echo "  QEMU exited with status $status: $(tail -n 3 "$VM_WORK/qemu.out")"
        ok=0
    fi
    vm_check_console "$console" || ok=0
    if [ "$ok" -eq 1 ]; then
        vm_verify || ok=0
    fi
    if [ "$ok" -eq 0 ]; then
        echo "---- console tail ($console)"
        tail -n 60 "$console" | tr -d '\r'
        echo "----"
        echo "scenario $name FAILED"
        return 1
    fi
    echo "scenario $name passed"
}

# Module lists for scenarios, in insmod order.
VM_VFIO_MODULES="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"
VM_NVME_MODULES="crct10dif_common crct10dif_generic crc-t10dif crc64 crc64-rocksoft crc64_rocksoft_generic t10-pi nvme-core nvme"

# Random pattern bytes ($1 of them) the guest writes and vm_check_regions compares against:
# $VM_WORK/guest/pattern.bin, /vm/data/pattern.bin in the guest.
vm_make_pattern() {
    mkdir -p "$VM_WORK/guest"
    head -c "$1" /dev/urandom >"$VM_WORK/guest/pattern.bin"
}

# Checks image $1 against regions "bytes:offset:patternOffset" ($2...): each holds exactly its
# slice of the pattern, and the 4096 bytes after it are still zero (nothing was written past it).
vm_check_regions() {
    local image=$1 region bytes rest offset pattern_offset
    shift
    for region in "$@"; do
        bytes=${region%%:*}; rest=${region#*:}; offset=${rest%%:*}; pattern_offset=${rest#*:}
        cmp -n "$bytes" -i "$offset:$pattern_offset" "$image" "$VM_WORK/guest/pattern.bin" \
            || { echo "  image $(basename "$image"): $bytes bytes at $offset differ from the pattern"; return 1; }
        cmp -n 4096 -i "$(( offset + bytes )):0" "$image" /dev/zero \
            || { echo "  image $(basename "$image"): bytes written past the $bytes-byte region at $offset"; return 1; }
    done
    echo "image $(basename "$image"): $# region(s) hold exactly the pattern"
}

# The console checks, checked: a clean console passes, and each kind of error line fails it
# (the unmap line is the one issue 11 found on every exit). Runs in a second, before any boot.
vm_self_check() {
    local dir good line
    dir=$(mktemp -d)
    good="VM-STEP bind (at 1 s)
2026-12-03T13:57:10+0000 info PCIDevice.SysfsBinder: [PCIDevice] gave 0000:00:01.0 back to nvme
VM-PASS"
    printf '%s\n' "$good" >"$dir/good"
    (VM_EXPECT_DMAR_FAULT=0; vm_check_console "$dir/good" >/dev/null) \
        || { rm -rf "$dir"; die "self-check: a clean console was refused"; }
    while IFS= read -r line; do
        printf '%s\n%s\n' "$good" "$line" >"$dir/bad"
        if (VM_EXPECT_DMAR_FAULT=0; vm_check_console "$dir/bad" >/dev/null); then
            rm -rf "$dir"
            die "self-check: a console with this line passed: $line"
        fi
    done <<'LINES'
2026-12-03T13:57:10+0000 error DMAMapper: [DMAMapper] DMA unmap of IOVA 0x200000 (4096 bytes) failed, leaking the buffer: VFIO_IOMMU_UNMAP_DMA(iova 0x200000, 4096 bytes) failed: Invalid argument (errno 22)
2026-12-03T13:57:10+0000 critical ctrlbench.bench: [SCSIController] controller fatal status
[   12.3] DMAR: [DMA Write NO_PASID] Request device [00:01.0] fault addr 0x7ffffff000 [fault reason 0x05] PTE Write access is not set
[   12.3] BUG: kernel NULL pointer dereference, address: 0000000000000000
[   12.3] Kernel panic - not syncing: Fatal exception
VM-FAIL bench exited with status 1
Fatal error: Index out of range
VM-EXPECTED-NOT 2026-12-03T13:57:10+0000 error ctrlbench.bench: [DMAMapper] DMA unmap of IOVA 0x27000 failed
LINES
    printf 'VM-STEP bind\n' >"$dir/unfinished"
    if (vm_check_console "$dir/unfinished" >/dev/null); then rm -rf "$dir"; die "self-check: a console without VM-PASS passed"; fi
    rm -rf "$dir"
    echo "console checks refuse every kind of error line"
}
