#!/usr/bin/env bash
# Writes the seed corpus: valid requests of every signal (plain and gzip-framed) from `loadgen payload`.
set -euo pipefail
loadgen=${1:?usage: make-corpus.sh PATH/TO/loadgen OUTDIR}
out=${2:?usage: make-corpus.sh PATH/TO/loadgen OUTDIR}
mkdir -p "$out"
for signal in logs traces metrics; do
  for batch in 1 3 20; do
    "$loadgen" payload --sent-ns 1800000000000000000 --signal "$signal" --batch-size "$batch" --attributes 6 --attribute-size 4 --body-size 12 \
      --out "$out/$signal-$batch.framed" >/dev/null
    tail -c +6 "$out/$signal-$batch.framed" > "$out/$signal-$batch.pb"
  done
  "$loadgen" payload --sent-ns 1800000000000000000 --signal "$signal" --batch-size 5 --compression gzip --out "$out/$signal-gzip.framed" >/dev/null
  tail -c +6 "$out/$signal-gzip.framed" > "$out/$signal.gz"
  "$loadgen" payload --sent-ns 1800000000000000000 --signal "$signal" --batch-size 4 --resources 2 --scopes 2 --no-tracking --out "$out/$signal-multi.framed" >/dev/null
done
# syslog streams (both formats, both framings) and HTTP/1.1 responses, for the syslog reader and
# loadgen's response parser.
printf '%s' '93 <134>1 2026-11-24T23:25:11.089833Z h pp - load [pipeperf@32473 run="00000000000000ab" seq="00000000000000000042"]' > "$out/syslog-5424.txt"
printf '%s\n%s\n' '<134>Nov 24 23:25:11 h pp: pipeperf run=00000000000000ab seq=00000000000000000007 sent=1795562711089833107 body' \
  '<13>plain line without tracking' > "$out/syslog-3164.txt"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 7\r\n\r\n\x0a\x05\x08\x07\x12\x01x' > "$out/http-200.txt"
printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' > "$out/http-chunked.txt"
