#!/usr/bin/env bash
# Wall time, CPU time and peak RSS of every queue command of the release `batch-generate`
# binary (issue #21 targets): on a synthetic queue of BATCH_QUEUE_ENTRIES entries (default
# 100,000, about 27 MiB) and on tsuku's real queue with the whole failure corpus.
#
# Usage: BATCH_TSUKU_DATA=<tsuku data dir> scripts/queue-rss.sh   (from anywhere; needs
# /usr/bin/time and python3). Without BATCH_TSUKU_DATA it prints a skip line and exits 0:
# both workloads are built from tsuku's real queue.
#
# Commands, each run BATCH_QUEUE_RUNS times (default 3; the median wall time, the median CPU
# time and the largest peak RSS are printed):
#   plan       main run `--dry-run` at --batch-size 25: load + select, nothing written
#   run        main run at --batch-size 0 (no candidate, no generator): load + select + save
#   maintain   queue maintain (mark-failures, requeue, reorder; load, read records, save)
#   status     queue status (load, records, control file; writes nothing)
#   reconcile  queue reconcile against a recipes tree holding every 20th entry's recipe
# Every command that writes gets a fresh copy of the queue, as production replaces it.
#
# The synthetic queue cycles the real entries with `-<index>` added to every name and source;
# its failure directory has one record for every tenth entry (100 records a file), one record
# in five a `missing_dep` naming another entry. Targets: the synthetic 100,000-entry queue
# < 0.5 s and peak RSS <= 3 x the file for every command; the real queue < 0.2 s.
# BATCH_QUEUE_BIN=<path> measures that binary instead of building this tree's (to compare
# builds); BATCH_QUEUE_ENTRIES=1000000 gives the 1M figures (for information only).
set -euo pipefail

if [ -z "${BATCH_TSUKU_DATA:-}" ]; then
  echo "queue-rss: skipped: BATCH_TSUKU_DATA is not set (the workloads are built from tsuku's real queue)"
  exit 0
fi
data=$(cd "$BATCH_TSUKU_DATA" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${BATCH_QUEUE_BIN:-}" ]; then
  bin=$BATCH_QUEUE_BIN
else
  (cd "$root" && cargo build --release -p batch-generate --quiet)
  bin="${CARGO_TARGET_DIR:-$root/target}/release/batch-generate"
fi
entries=${BATCH_QUEUE_ENTRIES:-100000}
runs=${BATCH_QUEUE_RUNS:-3}

# Workload directories: queue.json, failures/, recipes/, control.json.
mkdir -p "$work/real" "$work/synthetic"
cp "$data/priority-queue.json" "$work/real/queue.json"
ln -s "$data/failures-corpus" "$work/real/failures"
python3 - "$data/priority-queue.json" "$entries" "$work" <<'PY'
import json, os, sys
real_path, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real = json.load(open(real_path))
base = real["entries"]

def recipes(dir, entries):
    for e in entries:
        p = os.path.join(dir, e["name"][0].lower(), e["name"] + ".toml")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write('[metadata]\nname = "%s"\n' % e["name"])

for label, entries in (("real", base), ("synthetic", None)):
    d = os.path.join(work, label)
    if entries is None:
        entries = []
        for i in range(n):
            e = dict(base[i % len(base)])
            e["name"] = "%s-%d" % (e["name"], i)
            e["source"] = "%s-%d" % (e["source"], i)
            entries.append(e)
        q = dict(real)
        q["entries"] = entries
        with open(os.path.join(d, "queue.json"), "w") as f:
            json.dump(q, f, indent=2)
            f.write("\n")
        fdir = os.path.join(d, "failures")
        os.makedirs(fdir)
        failing = entries[::10]
        for k in range(0, len(failing), 100):
            records = []
            for j, e in enumerate(failing[k:k + 100]):
                r = {"package_id": e["source"], "message": "synthetic",
                     "timestamp": "2026-11-20T10:00:%02dZ" % (j % 60)}
                if (k + j) % 5 == 0:
                    r["category"] = "missing_dep"
                    r["blocked_by"] = [entries[((k + j) * 10 + 7) % len(entries)]["name"]]
                else:
                    r["category"] = "generation_failed"
                records.append(r)
            f = k // 100
            stamp = "2026-11-20T%02d-%02d-%02dZ" % (f // 3600 % 24, f // 60 % 60, f % 60)
            doc = {"schema_version": 1, "ecosystem": "bench%d" % f,
                   "environment": "linux-glibc-x86_64", "updated_at": stamp,
                   "failures": records}
            with open(os.path.join(fdir, "bench%d-%s.jsonl" % (f, stamp)), "w") as out:
                out.write(json.dumps(doc) + "\n")
    recipes(os.path.join(d, "recipes"), entries[::20])
    with open(os.path.join(d, "control.json"), "w") as f:
        f.write('{"enabled":true,"circuit_breaker":{}}\n')
PY

# Runs one command `runs` times in workload $1 and prints its line. The command line is
# "$@" after the label; QUEUE is replaced by a fresh copy of the queue.
measure() {
  local dir=$1 label=$2
  shift 2
  local size walls=() cpus=() peak=0
  size=$(stat -c %s "$dir/queue.json")
  for _ in $(seq "$runs"); do
    cp "$dir/queue.json" "$work/q.json"
    rm -f "$work/q.json.lock" "$work/q.json.journal"
    local args=()
    for a in "$@"; do args+=("${a//QUEUE/$work/q.json}"); done
    sync
    if ! /usr/bin/time -v -o "$work/time" "$bin" "${args[@]}" >"$work/out" 2>"$work/err"; then
      echo "$label failed:"; cat "$work/err"; cat "$work/time"; exit 1
    fi
    local rss wall cpu
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/time")
    cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {t += $2} END {print t}' "$work/time")
    walls+=("$wall"); cpus+=("$cpu")
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  mc=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  awk -v w="$(basename "$dir")" -v l="$label" -v s="$size" -v r="$peak" -v t="$mw" -v c="$mc" 'BEGIN {
    printf "%-9s %-9s queue %6.1f MiB  wall %.3f s  cpu %.3f s  peak RSS %7.1f MiB = %.2f x the queue\n", w, l, s / 1048576, t, c, r / 1024, r * 1024 / s
  }'
}

echo "binary: $bin; synthetic entries: $entries; runs: $runs"
for dir in "$work/synthetic" "$work/real"; do
  common=(--queue QUEUE --control-file "$dir/control.json" --failures-dir "$dir/failures"
    --output-dir "$work/out-recipes" --summary "$work/summary.md" --generator /bin/false)
  measure "$dir" plan "${common[@]}" --batch-size 25 --tier 3 --dry-run --json -q
  measure "$dir" run "${common[@]}" --batch-size 0 --tier 3 --json -q
  measure "$dir" maintain queue maintain --queue QUEUE --failures-dir "$dir/failures" \
    --output "$work/maintained.json" --json
  measure "$dir" status queue status --queue QUEUE --control-file "$dir/control.json" \
    --failures-dir "$dir/failures" --json
  measure "$dir" reconcile queue reconcile --queue QUEUE --recipes "$dir/recipes" \
    --output "$work/reconciled.json" --json
done
