#!/bin/sh
# Offline main run (issue #22, docs/PERFORMANCE.md "Offline run"): 12 queue entries whose every
# `create` exits 5 at once, through the fake generator, with default flags; prints the wall time
# and the run's closing lines.
#
# usage: scripts/offline-run.sh BINARY homebrew|real net|busy
#   homebrew  12 pending homebrew entries h0..h11
#   real      the first 12 pending entries of testdata/tsuku/priority-queue.json
#   net       the transcript's offline error (a failed dial: not push-back)
#   busy      `Homebrew API returned status 503` (push-back: the adaptive slowdown applies,
#             which is how every exit 5 was read before issue #22)
set -eu
BIN=$1; KIND=$2; MODE=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
python3 - "$KIND" "$D/queue.json" "$ROOT/testdata/tsuku/priority-queue.json" <<'PY'
import json, sys
kind, out, real = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "homebrew":
    es = [{"name": f"h{i}", "source": f"homebrew:h{i}", "priority": 1, "status": "pending",
           "confidence": "auto", "failure_count": 0, "next_retry_at": None} for i in range(12)]
else:
    es = [e for e in json.load(open(real))["entries"] if e["status"] == "pending"][:12]
json.dump({"schema_version": 1, "updated_at": "2026-12-01T00:00:00Z", "entries": es},
          open(out, "w"), indent=2)
PY
start=$(date +%s.%N)
FAKE_TSUKU_MODE=$MODE FAKE_TSUKU_DELAY=0.015 FAKE_TSUKU_STATE=$D "$BIN" \
  --queue "$D/queue.json" --control-file "$D/control.json" --output-dir "$D/recipes" \
  --failures-dir "$D/failures" --results "$D/results.json" --summary "$D/summary.md" \
  --generator "$ROOT/testdata/fake-tsuku" > "$D/stdout" 2> "$D/stderr" || echo "exit $?"
end=$(date +%s.%N)
echo "$KIND $MODE: $(echo "$end - $start" | bc) s"
grep -E "start period|^Batch complete|^not run:" "$D/stderr" || true
rm -rf "$D"
