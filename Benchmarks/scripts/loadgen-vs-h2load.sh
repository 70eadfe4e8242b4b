#!/usr/bin/env bash
# Side-by-side, in one run, against the same sink: CPU per log of `loadgen --rate max` and of h2load
# posting the file written by `loadgen payload` (same batch size, connections and streams), and their
# ratio. Also the rate accuracy of `loadgen --rate` at fixed rates. Not a test: it prints figures.
#
#   Benchmarks/scripts/loadgen-vs-h2load.sh [SECONDS]      (default 10)
#
# The sink is pipeperf's null-sink (SINK=python: the grpcio receiver from Tests/python instead, which
# caps throughput but not the clients' CPU per log).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
batch=${BATCH:-1000}
conns=${CONNECTIONS:-1}
streams=${STREAMS:-16}
port=${PORT:-14999}
. Benchmarks/scripts/lib.sh
bench_prepare loadgen null-sink   # python3 from the venv, with grpcio and opentelemetry-proto (SINK=python)
bin=.build/release/loadgen
trap 'kill $sink_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

if [ "${SINK:-null-sink}" = python ]; then
  python3 Tests/python/otlp_receiver.py --port "$port" --no-seq --workers 8 > "$tmp/sink.log" 2>&1 &
else
  .build/release/null-sink --grpc "127.0.0.1:$port" --admin 127.0.0.1:0 --threads "${SINK_THREADS:-1}" > "$tmp/sink.log" 2>&1 &
fi
sink_pid=$!
wait_listening "$tmp/sink.log" "the ${SINK:-null-sink} sink"
echo "sink: $(head -1 "$tmp/sink.log")"
sink_cpu0=$(awk '{print $14 + $15}' "/proc/$sink_pid/stat")


# loadgen, closed loop
"$bin" --endpoint "127.0.0.1:$port" --rate max --duration "${seconds}s" --batch-size "$batch" \
  --connections "$conns" --max-in-flight "$streams" --quiet --summary-json "$tmp/max.json"
lg_items=$(python3 -c "import json;d=json.load(open('$tmp/max.json'));print(d['acked'])")
lg_cpu=$(python3 -c "import json;d=json.load(open('$tmp/max.json'));print(d['cpu_seconds'])")

# h2load, same payload file, same connections and streams, for the same number of requests
"$bin" payload --batch-size "$batch" --out "$tmp/payload.bin" > /dev/null
requests=$(( lg_items / batch ))
[ "$requests" -lt 1 ] && requests=1
/usr/bin/time -f "%U %S" -o "$tmp/h2.time" h2load -n "$requests" -c "$conns" -m "$streams" -d "$tmp/payload.bin" \
  -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:$port/opentelemetry.proto.collector.logs.v1.LogsService/Export" > "$tmp/h2.out" 2>&1
h2_ok=$(grep -oE "[0-9]+ succeeded" "$tmp/h2.out" | grep -oE "^[0-9]+")
h2_cpu=$(awk '{print $1 + $2}' "$tmp/h2.time")

echo "loadgen --rate max: $(python3 -c "import json;d=json.load(open('$tmp/max.json'));print(f\"{d['achieved_rate']:.0f} logs/s with {d['threads']} thread(s), rpc p50 {d['rpc_latency_ms']['p50']} ms\")")"
python3 - "$lg_items" "$lg_cpu" "$h2_ok" "$h2_cpu" "$batch" <<'PY'
import sys
lg_items, lg_cpu, h2_req, h2_cpu, batch = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
h2_items = h2_req * batch
lg = lg_cpu / lg_items * 1e9 if lg_items else float("nan")
h2 = h2_cpu / h2_items * 1e9 if h2_items else float("nan")
print(f"loadgen --rate max: {lg_items} logs acked, {lg_cpu:.2f} s CPU, {lg:.1f} ns CPU per log")
print(f"h2load            : {h2_items} logs ({h2_req} requests), {h2_cpu:.2f} s CPU, {h2:.1f} ns CPU per log")
print(f"ratio loadgen / h2load CPU per log: {lg / h2:.2f} (target <= 1.0)")
PY

for rate in ${RATES:-100k 1M}; do
  "$bin" --endpoint "127.0.0.1:$port" --rate "$rate" --duration "${seconds}s" --batch-size "$batch" \
    --connections "$conns" --max-in-flight "$streams" --quiet --summary-json "$tmp/rate.json" || true
  python3 - "$tmp/rate.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, a = d["target_rate"], d["achieved_rate"]
print(f"--rate {t:>10.0f}: achieved {a:.1f}/s ({(a - t) / t * 100:+.2f} %), sent {d['sent']}, acked {d['acked']}, "
      f"late batches {d['late_batches']}, unsent {d['unsent']}, cpu {d['cpu_seconds']:.2f} s")
PY
done
