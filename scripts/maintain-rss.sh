#!/usr/bin/env bash
# Peak RSS and wall time of `batch-generate queue maintain` on the two workloads of the
# `maintain` bench (issue #14): tsuku's real queue with the whole failure corpus, and a
# synthetic 1,000,000-entry queue with 100,000 failure records. The workloads are generated
# by the bench (BATCH_BENCH_WORKLOAD_DIR) into a temporary directory that is removed at the
# end; nothing is written into the repository.
#
# Usage: scripts/maintain-rss.sh            (from the workspace root; needs /usr/bin/time)
# Prints one line per workload: queue bytes, peak RSS (KiB), RSS / queue size, wall seconds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -p batch-generate --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/batch-generate"
BATCH_BENCH_WORKLOAD_DIR="$work" cargo bench -p batch --bench maintain --quiet >"$work/list"

while read -r queue failures; do
  out="$work/out.json"
  rm -f "$out"
  /usr/bin/time -v -o "$work/time" "$bin" queue maintain --queue "$queue" \
    --failures-dir "$failures" --output "$out" >/dev/null
  size=$(stat -c %s "$queue")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time")
  awk -v q="$queue" -v s="$size" -v r="$rss" -v w="$wall" 'BEGIN {
    printf "%s: queue %d bytes, peak RSS %d KiB = %.2f x the queue, wall %s\n", q, s, r, r * 1024 / s, w
  }'
done <"$work/list"
