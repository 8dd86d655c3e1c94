#!/bin/busybox sh
# /init of the VM tests' initramfs: mount the basics, load the scenario's modules in order, run
# the scenario's guest script with guest-lib.sh sourced first, report VM-PASS or VM-FAIL, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "VM-STEP init (at $(cut -d' ' -f1 /proc/uptime) s)"
for module in $(cat /vm/modules); do
    insmod "/modules/$module.ko" || echo "VM-FAIL insmod $module"
done
(. /vm/guest-lib.sh && . /vm/scenario.sh)
status=$?
# Kernel lines the console's log level may have hidden: the runner checks these too.
dmesg | grep -E 'DMAR:.*(fault|\[DMA)|Oops|BUG:|Call Trace:|Kernel panic' | sed 's/^/VM-DMESG /'
if [ "$status" -eq 0 ]; then echo "VM-PASS"; else echo "VM-FAIL the guest script exited with status $status"; fi
sync
poweroff -f
