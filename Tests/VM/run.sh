#!/usr/bin/env bash
# The VM tests: the driver on QEMU's emulated NVMe controller, through the guest kernel's vfio-pci
# and an emulated Intel IOMMU, one boot per scenario.
#
#   bash Tests/VM/run.sh                 every scenario in Tests/VM/ci-scenarios (what CI runs)
#   bash Tests/VM/run.sh default faults  the named scenarios (Tests/VM/scenarios/NAME.sh)
#
# It installs what it needs (root, Debian/Ubuntu), fetches Debian's guest kernel package into
# .vm-cache/ (never installed on the host), builds one static ctrlbench for every boot, builds an
# initramfs per scenario, boots each under a timeout and checks the console. A boot fails on a
# missing VM-PASS, any VM-FAIL, a kernel panic/oops/BUG, a DMAR fault the scenario did not expect,
# or a ctrlbench error line such as "DMA unmap ... failed"; the console's tail is printed and the
# whole log kept in .vm-cache/logs/. See the README's "VM tests" section.
#
# Environment: VM_CTRLBENCH=path skips the static build and uses that binary; VM_ACCEL=kvm uses
# KVM instead of TCG; VM_CACHE=dir moves the cache.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VM_DIR=$ROOT/Tests/VM
CACHE=${VM_CACHE:-$ROOT/.vm-cache}
LOGS=$CACHE/logs
mkdir -p "$CACHE" "$LOGS"
# shellcheck source=Tests/VM/host-lib.sh
source "$VM_DIR/host-lib.sh"

RUN_START=$(date +%s)
if [ "$#" -eq 0 ]; then
    mapfile -t SCENARIOS < <(grep -Ev '^\s*(#|$)' "$VM_DIR/ci-scenarios")
else
    SCENARIOS=("$@")
fi
for name in "${SCENARIOS[@]}"; do
    [ -f "$VM_DIR/scenarios/$name.sh" ] || die "no scenario $name (Tests/VM/scenarios/$name.sh)"
done

stage "console checks"; vm_self_check; stage_done
stage "host packages"; vm_install_packages; stage_done
stage "guest kernel"; vm_fetch_kernel; stage_done
stage "static ctrlbench"; vm_build_ctrlbench; stage_done

failed=()
for name in "${SCENARIOS[@]}"; do
    stage "scenario $name"
    # A plain command (not an `if` condition), so `set -e` holds inside the scenario's subshell.
    set +e
    (set -e; vm_run_scenario "$name")
    status=$?
    set -e
    stage_done
    [ "$status" -eq 0 ] || failed+=("$name")
done

echo "== vm: total $(( $(date +%s) - RUN_START )) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "VM tests failed: ${failed[*]} (logs in $LOGS)" >&2
    exit 1
fi
echo "VM tests passed: ${SCENARIOS[*]}"
