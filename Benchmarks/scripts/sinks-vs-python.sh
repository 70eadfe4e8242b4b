#!/usr/bin/env bash
# Side by side, in one run: CPU per log of each sink when h2load drives it with the same payload
# file (1,000 logs per request, gRPC), at max rate and at a fixed rate: fake-backend (counting, loss
# tracking and latency on), null-sink, and the Python grpcio receiver that counts with
# opentelemetry-proto (what the reference framework's backend did). Prints the figures and the ratios.
# Not a test.
#
#   Benchmarks/scripts/sinks-vs-python.sh [SECONDS]      (default 10; RPS=100 requests/s for the fixed rate)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
rps=${RPS:-100}
streams=${STREAMS:-16}
port=${PORT:-14998}
. Benchmarks/scripts/lib.sh
bench_prepare loadgen null-sink fake-backend   # python3 from the venv, with grpcio and opentelemetry-proto
sink_pid=""
trap '[ -n "$sink_pid" ] && kill $sink_pid 2>/dev/null; rm -rf "$tmp"' EXIT
.build/release/loadgen payload --batch-size 1000 --out "$tmp/logs.bin"
url="http://127.0.0.1:$port/opentelemetry.proto.collector.logs.v1.LogsService/Export"

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)

start_sink() {
  case "$1" in
    fake-backend) .build/release/fake-backend --grpc "127.0.0.1:$port" --http none --admin 127.0.0.1:0 > "$tmp/sink.log" 2>&1 & ;;
    null-sink) .build/release/null-sink --grpc "127.0.0.1:$port" --http none --admin 127.0.0.1:0 > "$tmp/sink.log" 2>&1 & ;;
    python) python3 Tests/python/otlp_receiver.py --port "$port" --no-seq --workers 8 > "$tmp/sink.log" 2>&1 & ;;
  esac
  sink_pid=$!
  wait_listening "$tmp/sink.log" "$1"
}

# One measurement: prints "logs cpu_seconds" for the sink under h2load with the given extra flags.
measure() {
  local before after out ok
  before=$(cpu_of "$sink_pid")
  out=$(h2load -D "$seconds" -c 1 -m "$streams" "$@" -d "$tmp/logs.bin" -H "content-type: application/grpc" -H "te: trailers" "$url" 2>&1)
  after=$(cpu_of "$sink_pid")
  ok=$(echo "$out" | grep -o '[0-9]* succeeded' | awk '{print $1}')
  echo "$((ok * 1000)) $(awk -v a="$after" -v b="$before" -v t="$ticks" 'BEGIN{print (a-b)/t}')"
}

declare -A max_ns fixed_ns
for sink in fake-backend null-sink python; do
  start_sink "$sink"
  read -r logs cpu < <(measure)
  max_ns[$sink]=$(awk -v c="$cpu" -v n="$logs" 'BEGIN{printf "%.1f", n ? c*1e9/n : 0}')
  printf "%-13s max rate  : %12d logs in %ss (%s logs/s), sink CPU %6.2f s, %8s ns CPU per log\n" "$sink" "$logs" "$seconds" \
    "$(awk -v n="$logs" -v s="$seconds" 'BEGIN{printf "%.0f", n/s}')" "$cpu" "${max_ns[$sink]}"
  read -r logs cpu < <(measure --rps "$rps")
  fixed_ns[$sink]=$(awk -v c="$cpu" -v n="$logs" 'BEGIN{printf "%.1f", n ? c*1e9/n : 0}')
  printf "%-13s fixed rate: %12d logs in %ss (target %d logs/s), sink CPU %6.2f s, %8s ns CPU per log\n" "$sink" "$logs" "$seconds" \
    "$((rps * 1000))" "$cpu" "${fixed_ns[$sink]}"
  kill "$sink_pid"; wait "$sink_pid" 2>/dev/null || true; sink_pid=""
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b ? a/b : 0}'; }
echo "ratio fake-backend / python CPU per log: max $(ratio "${max_ns[fake-backend]}" "${max_ns[python]}"), fixed $(ratio "${fixed_ns[fake-backend]}" "${fixed_ns[python]}") (target <= 0.2)"
echo "ratio null-sink / fake-backend CPU per log: max $(ratio "${max_ns[null-sink]}" "${max_ns[fake-backend]}"), fixed $(ratio "${fixed_ns[null-sink]}" "${fixed_ns[fake-backend]}") (target <= 0.5)"
