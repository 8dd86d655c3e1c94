#!/usr/bin/env bash
# CI stage: the concurrent tests (threaded mock, several queue pairs on several threads) under
# the thread sanitizer, in a build folder of their own; with them the interrupt waits (a threaded
# mock signalling an eventfd) and the export's pipelined workers.
set -euo pipefail
cd "$(dirname "$0")/.."
set +e
swift test --sanitize=thread --scratch-path .build-tsan --filter "Threaded|Concurren|ExecutionMode|CompletionInterrupt|RingPipeline" > .build-tsan.log 2>&1
status=$?
set -e
grep -E "WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer|✘|error:" .build-tsan.log | head -n 40 || true
# On a failure the log's end holds the report's stack (a crash names no test otherwise).
if [ "$status" -ne 0 ]; then tail -n 80 .build-tsan.log; else tail -n 3 .build-tsan.log; fi
if grep -q "WARNING: ThreadSanitizer" .build-tsan.log; then echo "thread sanitizer reported races" >&2; exit 1; fi
exit "$status"
