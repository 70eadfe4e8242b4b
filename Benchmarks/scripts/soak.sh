#!/usr/bin/env bash
# Soak: loadgen → fake-backend over gRPC at a high fixed rate for a long time (default 10 minutes at
# 1M logs/s, batches of 1,000). Reads both processes' RSS every 10 s and checks, at the end, that
# memory stayed flat after the warm-up (RSS growth under 5 % from the end of the warm-up to the end)
# and that the ledger is exact over the whole run (received = acked, nothing missing or duplicated).
# Prints the figures and PASS or FAIL (exit 1).
#
#   Benchmarks/scripts/soak.sh [SECONDS]     (default 600; RATE=1M, WARMUP=60)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
rate=${RATE:-1M}
warmup=${WARMUP:-60}
port=${PORT:-14997}
admin=${ADMIN_PORT:-14996}
. Benchmarks/scripts/lib.sh
bench_prepare loadgen fake-backend
bin=.build/release
trap 'kill $fb $lg 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$bin/fake-backend" --grpc "127.0.0.1:$port" --http none --admin "127.0.0.1:$admin" > "$tmp/fb.log" 2>&1 &
fb=$!
wait_listening "$tmp/fb.log" fake-backend
"$bin/loadgen" --endpoint "127.0.0.1:$port" --rate "$rate" --duration "${seconds}s" --batch-size 1000 \
  --quiet --summary-json "$tmp/summary.json" &
lg=$!
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
elapsed=0
: > "$tmp/rss"
while kill -0 "$lg" 2>/dev/null; do
  echo "$elapsed $(rss "$lg") $(rss "$fb")" >> "$tmp/rss"
  sleep 10
  elapsed=$((elapsed + 10))
done
wait "$lg" || true
sleep 1   # the ledger settles
curl -s --max-time 10 "http://127.0.0.1:$admin/status" > "$tmp/status.json"
python3 - "$tmp/rss" "$tmp/summary.json" "$tmp/status.json" "$warmup" <<'PY'
import json, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
summary, status, warmup = json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), int(sys.argv[4])
after = [r for r in rows if r[0] >= warmup and r[1] > 0]
ok = True
for name, col in (("loadgen", 1), ("fake-backend", 2)):
    if len(after) < 2:
        print(f"{name}: too few readings after the {warmup} s warm-up"); ok = False; continue
    first, last, peak = after[0][col], after[-1][col], max(r[col] for r in after)
    growth = (last - first) / first * 100
    print(f"{name}: RSS {first / 2**20:.1f} MiB after warm-up, {last / 2**20:.1f} MiB at the end "
          f"(peak {peak / 2**20:.1f} MiB): growth {growth:+.2f} % (limit 5 %)")
    ok = ok and growth < 5
logs = status["logs"]
acked, received = summary["acked"], logs["received"]
print(f"loadgen: {summary['sent']} sent, {acked} acked, {summary['failed']} failed, achieved "
      f"{summary['achieved_rate']:.0f}/s over {summary['duration_s']:.0f} s, {summary['cpu_seconds']:.1f} s CPU")
print(f"fake-backend: {received} received, {logs['distinct']} distinct, {logs['missing']} missing, "
      f"{logs['duplicates']} duplicates")
exact = received == acked and logs["missing"] == 0 and logs["duplicates"] == 0 and summary["failed"] == 0
print("ledger: exact" if exact else "ledger: NOT exact")
ok = ok and exact
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
