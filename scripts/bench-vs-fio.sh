#!/usr/bin/env bash
# The benchmark (not a test): `ctrlbench bench` on the null mock beside `fio --ioengine=null`, the
# same shape (randread, 4 KiB, iodepth 32, one job), alternated ROUNDS times in one run so that
# both see the same machine load. Prints every figure and the ratio. Both are read from the same
# place in their JSON (jobs[0].read.iops), which is fio's shape.
#   ROUNDS=3 RUNTIME=5 bash scripts/bench-vs-fio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
runtime="${RUNTIME:-5}"
bash scripts/setup.sh
if ! command -v fio >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
        echo "bench-vs-fio: fio is missing and there is no root or sudo to install it (apt-get install fio)" >&2
        exit 1
    fi
    echo "bench-vs-fio: installing fio" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null
fi
swift build -c release --product ctrlbench >&2
ctrlbench=.build/release/ctrlbench
iops() { python3 -c 'import json, sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'; }

echo "shape: randread, bs 4k, iodepth 32, 1 job, ${runtime} s each, ${rounds} rounds alternated; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
ours_all=()
fio_all=()
for round in $(seq 1 "$rounds"); do
    ours="$("$ctrlbench" bench --rw randread --bs 4k --iodepth 32 --numjobs 1 --runtime "${runtime}s" \
        --output-format json | iops)"
    theirs="$(fio --name=null --ioengine=null --rw=randread --bs=4k --iodepth=32 --numjobs=1 --size=1g \
        --time_based --runtime="$runtime" --output-format=json | iops)"
    ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
    printf 'round %d: ctrlbench %d IOPS, fio %d IOPS, ratio %sx\n' "$round" "$ours" "$theirs" "$ratio"
    ours_all+=("$ours")
    fio_all+=("$theirs")
done
awk -v o="${ours_all[*]}" -v f="${fio_all[*]}" 'BEGIN {
    n = split(o, a, " "); split(f, b, " ")
    for (i = 1; i <= n; i++) { r = a[i] / b[i]; if (i == 1 || r < lo) lo = r; if (i == 1 || r > hi) hi = r }
    printf "ratio ctrlbench / fio: %.2f to %.2fx over %d rounds\n", lo, hi, n
}'
