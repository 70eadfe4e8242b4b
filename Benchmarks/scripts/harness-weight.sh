#!/usr/bin/env bash
# The harness's own weight at a fixed rate against its weight at maximum rate, side by side in one
# run: CPU per log of loadgen and of fake-backend (loadgen → fake-backend over gRPC, batches of 1,000)
# at --rate max and at --rate 100k, and their ratios (the goal is at most 1.5×). loadgen's figure
# leaves out its setup (payload templates, threads: the median of three one-batch runs, measured
# first); fake-backend's is the CPU its threads used during each run, from /proc/PID/task/*/schedstat
# (nanoseconds). First it measures what this machine charges for a timer wake-up. Then the same two
# runs on a busy machine (one lowest-priority spinner per core, nice 19, standing in for the pipeline
# under test that shares the machine): CPUs that never go idle show how much of the fixed-rate excess
# is the cost of waking an idle CPU rather than the harness's own work. Not a test: it prints figures.
#
#   Benchmarks/scripts/harness-weight.sh [SECONDS]      (default 10; RATE=100k, BATCH=1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
rate=${RATE:-100k}
batch=${BATCH:-1000}
port=${PORT:-14998}
. Benchmarks/scripts/lib.sh
bench_prepare loadgen fake-backend
bin=.build/release
spinners=()
trap 'kill $fb "${spinners[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$bin/fake-backend" --grpc "127.0.0.1:$port" --http none --admin 127.0.0.1:0 > "$tmp/fb.log" 2>&1 &
fb=$!
wait_listening "$tmp/fb.log" fake-backend
# The CPU of every fake-backend thread in nanoseconds (schedstat; /proc/PID/stat counts 10 ms ticks,
# too coarse for the 0.1 s a fixed-rate run costs).
fbcpu() { cat /proc/$fb/task/*/schedstat | awk '{s += $1} END {printf "%.9f\n", s / 1e9}'; }
run() {  # NAME, then loadgen options; prints NAME logs loadgen_cpu fb_cpu
  local name=$1; shift
  local c0 c1
  c0=$(fbcpu)
  "$bin/loadgen" --endpoint "127.0.0.1:$port" --batch-size "$batch" --quiet --summary-json "$tmp/$name.json" "$@"
  sleep 0.5   # the backend's ledger settles
  c1=$(fbcpu)
  python3 -c "import json,sys;d=json.load(open('$tmp/$name.json'));print('$name',d['acked'],d['cpu_seconds'],$c1-$c0)"
}
{
  for i in 1 2 3; do run "setup$i" --rate 100k --count "$batch"; done
  run max --rate max --duration "${seconds}s"
  run fixed --rate "$rate" --duration "${seconds}s"
  for _ in $(seq "$(nproc)"); do nice -n 19 bash -c 'while :; do :; done' & spinners+=($!); done
  run busy-max --rate max --duration "${seconds}s"
  run busy-fixed --rate "$rate" --duration "${seconds}s"
  kill "${spinners[@]}"; spinners=()
} > "$tmp/runs"
# What this machine charges for waking a sleeping thread by a timer (10 ms sleeps, as between the
# batches at 100k/s), against a wake-up by another thread's write: on a virtual machine whose idle vCPU
# is halted the first can cost tens of microseconds, and a fixed-rate sender pays one per batch.
python3 - > "$tmp/wake" <<'PY'
import os, threading, time
n = 200
c0 = time.thread_time_ns()
for _ in range(n): time.sleep(0.01)
timer = (time.thread_time_ns() - c0) / n / 1000
r, w = os.pipe()
def writer():
    for _ in range(n):
        time.sleep(0.01)
        os.write(w, b"x")
threading.Thread(target=writer).start()
c0 = time.thread_time_ns()
for _ in range(n): os.read(r, 1)
event = (time.thread_time_ns() - c0) / n / 1000
print(f"{timer:.1f} {event:.1f}")
PY
python3 - "$tmp/runs" "$rate" "$tmp/wake" <<'PY'
import sys
runs = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
setup = sorted(float(runs[f"setup{i}"][1]) for i in (1, 2, 3))[1]  # the median of three
def per_log(name):
    n, lg, fb = int(runs[name][0]), float(runs[name][1]), float(runs[name][2])
    return n, max(0.0, lg - setup) / n * 1e9, fb / n * 1e9
n_max, lg_max, fb_max = per_log("max")
n_fix, lg_fix, fb_fix = per_log("fixed")
timer, event = open(sys.argv[3]).read().split()
print(f"loadgen setup: {setup * 1000:.0f} ms CPU (left out below)")
print(f"this machine: a thread woken by its timer after 10 ms pays {timer} us of CPU, one woken by another's write {event} us")
print(f"--rate max         : {n_max} logs; loadgen {lg_max:6.1f} ns CPU/log, fake-backend {fb_max:6.1f} ns CPU/log")
print(f"--rate {sys.argv[2]:<12}: {n_fix} logs; loadgen {lg_fix:6.1f} ns CPU/log, fake-backend {fb_fix:6.1f} ns CPU/log")
print(f"ratio fixed / max: loadgen {lg_fix / lg_max:.2f}, fake-backend {fb_fix / fb_max:.2f} (goal <= 1.5)")
_, blg_max, bfb_max = per_log("busy-max")
_, blg_fix, bfb_fix = per_log("busy-fixed")
print(f"busy machine (a nice-19 spinner per core), --rate max: loadgen {blg_max:6.1f}, fake-backend {bfb_max:6.1f} ns CPU/log")
print(f"busy machine, --rate {sys.argv[2]:<12}: loadgen {blg_fix:6.1f}, fake-backend {bfb_fix:6.1f} ns CPU/log")
print(f"busy machine ratio fixed / max: loadgen {blg_fix / blg_max:.2f}, fake-backend {bfb_fix / bfb_max:.2f}")
PY
