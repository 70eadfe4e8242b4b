# Sourced by the benchmark scripts (from the repository's root): what every one of them needs first.

# bench_prepare PRODUCT...: the system packages and Python peers, python3 from .venv, the release
# binaries of PRODUCT... (scripts/swift-release), and a scratch folder in $tmp.
bench_prepare() {
  scripts/install-deps
  . scripts/venv-path
  scripts/swift-release "$@"
  tmp=$(mktemp -d)
}

# wait_listening LOG WHAT: waits up to 10 s for a server's "listening" line in LOG; otherwise names WHAT,
# prints its log and exits 1 (a figure measured against a server that never started would be no figure).
wait_listening() {
  for _ in $(seq 100); do grep -q listening "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$(basename "$0"): $2 did not start listening within 10 s; its log ($1):" >&2
  cat "$1" >&2
  exit 1
}
