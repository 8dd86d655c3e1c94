#!/usr/bin/env bash
# The VM tests (Tests/VM): the driver on QEMU's NVMe controller through real VFIO and an emulated
# IOMMU, every scenario in Tests/VM/ci-scenarios. See the README's "VM tests" section.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tests/VM/run.sh
