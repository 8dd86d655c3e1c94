#!/usr/bin/env bash
# The performance boot, by hand: 4 KiB random reads at queue depth 32 on QEMU's NVMe controller,
# null-co backing then a raw image; in each the guest kernel's nvme (fio, io_uring), ctrlbench
# through VFIO (with and, when the flag exists, without shadow doorbells), the kernel again.
#
#   bash Tests/VM/perf.sh            10 s per run (PERF_RUNTIME=N to change)
#
# Prints every figure and the ratios to the kernel's; figures, not pass/fail. CI boots the short
# version (scenario perf-short) through run.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOG=${VM_CACHE:-$ROOT/.vm-cache}/logs/perf.log
echo "host: $(uptime)"
PERF_RUNTIME=${PERF_RUNTIME:-10} bash "$ROOT/Tests/VM/run.sh" perf
echo "== figures ($(date -u '+%Y-%m-%d %H:%M UTC'), host load:$(uptime | sed 's/.*load average://'))"
tr -d '\r' <"$LOG" | awk '
    /^VM-PERF / { iops[$2 " " $3] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
    END {
        for (i = 1; i <= n; i++) {
            b = order[i]
            kernel = (iops[b " kernel-before"] + iops[b " kernel-after"]) / 2
            printf "%-5s kernel nvme before %9d IOPS, after %9d IOPS\n", b, iops[b " kernel-before"], iops[b " kernel-after"]
            split("ctrlbench ctrlbench-no-shadow", runners, " ")
            for (r = 1; r <= 2; r++) {
                key = b " " runners[r]
                if (key in iops)
                    printf "%-5s %-22s %9d IOPS, %.1fx the kernel (mean of before and after)\n", b, runners[r], iops[key], (kernel > 0 ? iops[key] / kernel : 0)
            }
            if ((b " ctrlbench-no-shadow") in iops && iops[b " ctrlbench-no-shadow"] > 0)
                printf "%-5s shadow doorbells on / off: %.2fx\n", b, iops[b " ctrlbench"] / iops[b " ctrlbench-no-shadow"]
        }
    }'
