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
