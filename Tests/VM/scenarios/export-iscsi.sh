# `ctrlbench export` of the mock as an iSCSI target on 127.0.0.1:3260 (demo mode, no
# authentication), driven by libiscsi's conformance suite, iscsi-test-cu, in the same guest.
# Prints pass/fail/skip per suite and in total; fails on a failed test or fewer than
# EXPORT_MIN_PASSES passes. The README's export section explains every skip.
# shellcheck source=Tests/VM/export-lib.sh
source "$VM_DIR/export-lib.sh"
VM_MODULES="$EXPORT_MODULES"
VM_BINARIES="$(export_binaries "iscsi-test-cu:libiscsi-bin")"
VM_TIMEOUT_S=3000
VM_MEMORY_MB=2048
EXPORT_MIN_PASSES=${EXPORT_MIN_PASSES:-140}
EXPORT_MAX_FAILURES=${EXPORT_MAX_FAILURES:-0}

vm_prepare() { export_prepare "iscsi-test-cu:libiscsi-bin"; }

vm_guest() {
    echo "MIN_PASSES=$EXPORT_MIN_PASSES MAX_FAILURES=$EXPORT_MAX_FAILURES"
    # CU_SUITES="Unmap CompareAndWrite" runs only those suites (diagnosis by hand; CI runs all).
    echo "CU_SUITES='${CU_SUITES:-}'"
    cat <<'GUEST'
. /vm/data/export-guest.sh
step "load LIO"
export_load_lio
config_snapshot
step "export the mock over iSCSI"
export_start --device mock --iscsi 127.0.0.1:3260
IQN=$(sed -n 's/.*(\(iqn[^ ]*\) on .*/\1/p' /tmp/export.log | head -n 1)
[ -n "$IQN" ] || fail "no IQN in the export's output"
URL="iscsi://127.0.0.1:3260/$IQN/0"
step "iscsi-test-cu against $URL, one suite at a time"
# One run per suite, each under its own time limit, so a suite that hangs costs only itself; its
# tests that did not report count as failures. Suite names and failures reach the console as
# they happen; the whole output goes to /tmp/cu.out.
iscsi-test-cu --list >/tmp/cu.list 2>&1
: >/tmp/cu.out
: >/tmp/cu.timeouts
for suite in $(grep -E '^ALL\.[^.]+$' /tmp/cu.list); do
    if [ -n "$CU_SUITES" ]; then
        case " $CU_SUITES " in *" ${suite#ALL.} "*) ;; *) continue ;; esac
    fi
    timeout "${CU_SUITE_TIMEOUT:-90}" iscsi-test-cu --dataloss --verbose --test="$suite" "$URL" >/tmp/cu.one 2>&1
    [ "$?" -eq 124 ] && { echo "TIMEOUT $suite"; echo "${suite#ALL.}" >>/tmp/cu.timeouts; }
    cat /tmp/cu.one >>/tmp/cu.out
    grep -E "^Suite|FAILED$" /tmp/cu.one
    # What failed and where: libiscsi's [FAILED] lines and CUnit's assertion list.
    if grep -q "FAILED$" /tmp/cu.one; then
        grep -E '\[FAILED\]|\[FAILURE\]|^ +[0-9]+\. ' /tmp/cu.one | sort | uniq -c | head -n 30
    fi
done
# Per suite: a test passes unless FAILED; one that printed [SKIPPED] is a skip; a listed test
# that never reported (its suite timed out) is a failure.
awk '
    FILENAME == "/tmp/cu.list" { n = split($0, part, "."); if (n == 3 && part[1] == "ALL") listed[part[2]]++; next }
    FILENAME == "/tmp/cu.timeouts" { timedout[$1] = 1; next }
    /^Suite: / { suite = $2; order[suite] = 1; next }
    /^  Test: / { test = $2; current = 1; skip = 0 }
    /\[SKIPPED\]/ { skip = 1 }
    current && /passed$/ { if (skip) skipped[suite]++; else passed[suite]++; current = 0; next }
    current && /FAILED$/ { failed[suite]++; current = 0; print "FAILED: " suite "." test }
    END {
        for (s in timedout) { order[s] = 1; missing = listed[s] - passed[s] - failed[s] - skipped[s]; if (missing > 0) { failed[s] += missing; print "TIMED OUT: " s " (" missing " tests)" } }
        for (s in order) { printf "SUITE %-28s pass %3d fail %3d skip %3d\n", s, passed[s], failed[s], skipped[s]; p += passed[s]; f += failed[s]; k += skipped[s] }
        printf "ISCSI-TEST-CU TOTAL pass %d fail %d skip %d of %d\n", p, f, k, p + f + k
    }' /tmp/cu.list /tmp/cu.timeouts /tmp/cu.out | sort | tee /tmp/cu.summary
grep -q "ISCSI-TEST-CU TOTAL" /tmp/cu.summary || fail "no iscsi-test-cu results"
PASSES=$(sed -n 's/.*TOTAL pass \([0-9]*\) .*/\1/p' /tmp/cu.summary)
FAILURES=$(sed -n 's/.*TOTAL pass [0-9]* fail \([0-9]*\) .*/\1/p' /tmp/cu.summary)
step "stop the export"
export_stop
config_unchanged "after a clean stop"
[ "$FAILURES" -le "$MAX_FAILURES" ] || fail "iscsi-test-cu: $FAILURES failures (at most $MAX_FAILURES allowed)"
[ "$PASSES" -ge "$MIN_PASSES" ] || fail "iscsi-test-cu: $PASSES passes, fewer than $MIN_PASSES"
GUEST
}
