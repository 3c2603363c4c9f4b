#!/usr/bin/env bash
# Peak RSS and wall time of `batch-generate queue maintain` on the two workloads of the
# `maintain` bench (issue #14): tsuku's real queue with the whole failure corpus, and a
# synthetic 1,000,000-entry queue with 100,000 failure records. The workloads are generated
# by the bench (BATCH_BENCH_WORKLOAD_DIR) into a temporary directory that is removed at the
# end; nothing is written into the repository.
#
# Usage: scripts/maintain-rss.sh            (from the workspace root; needs /usr/bin/time)
# Prints one line per workload and run: queue bytes, peak RSS (KiB), RSS / queue size, wall
# time and CPU seconds (user + system; less sensitive than the wall time to other processes on
# a busy machine). The output file is a copy of the queue that the run replaces, as
# `queue maintain` replaces the queue in production. BATCH_MAINTAIN_BIN=<path> runs that binary
# instead of building this tree's (to compare with an older build); BATCH_MAINTAIN_RUNS=<n>
# runs each workload n times (default 1).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${BATCH_MAINTAIN_BIN:-}" ]; then
  bin=$BATCH_MAINTAIN_BIN
else
  cargo build --release -p batch-generate --quiet
  bin="${CARGO_TARGET_DIR:-$root/target}/release/batch-generate"
fi
BATCH_BENCH_WORKLOAD_DIR="$work" cargo bench -p batch --bench maintain --quiet >"$work/list"

runs=${BATCH_MAINTAIN_RUNS:-1}
while read -r queue failures; do
  for _ in $(seq "$runs"); do
    out="$work/out.json"
    cp "$queue" "$out"
    sync
    /usr/bin/time -v -o "$work/time" "$bin" queue maintain --queue "$queue" \
      --failures-dir "$failures" --output "$out" >/dev/null
    size=$(stat -c %s "$queue")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time")
    cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {t += $2} END {print t}' "$work/time")
    awk -v q="$queue" -v s="$size" -v r="$rss" -v w="$wall" -v c="$cpu" 'BEGIN {
      printf "%s: queue %d bytes, peak RSS %d KiB = %.2f x the queue, wall %s, CPU %.2f s\n", q, s, r, r * 1024 / s, w, c
    }'
  done
done <"$work/list"
