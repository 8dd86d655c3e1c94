# CI's short version of the performance boot: null-co backing only, 2 seconds per run; it checks
# the path works (fio in the guest, bench through VFIO, the kernel again), not the figures.
PERF_RUNTIME=2
PERF_BACKINGS=null
# shellcheck source=Tests/VM/scenarios/perf.sh
source "$VM_DIR/scenarios/perf.sh"
