#!/usr/bin/env bash
# The e2e tests that found races on a loaded machine, run while two CPU-bound
# processes compete for the cores: up/down, the error paths, the crash and the
# concurrency tests. Every run must pass, with no leak (each test checks it).
#   bash scripts/stress.sh [-runs N] [-run REGEXP]
# make test-stress runs it 5 times; make test runs it once with a fixed budget.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
pattern='^TestE2E(UpOrderIdempotenceRecreate|UpErrors|KilledUpConverges|ConcurrentUp|ConcurrentUpDown|ParallelProjects|ChangedNetworkIsRecreated)$'
while [ $# -gt 0 ]; do
  case "$1" in
    -runs) runs=$2; shift 2 ;;
    -run) pattern=$2; shift 2 ;;
    *) echo "usage: $0 [-runs N] [-run REGEXP]" >&2; exit 2 ;;
  esac
done
hogs=()
stop_hogs() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in 1 2; do
  # a CPU-bound process per core, at normal priority: berth competes for the CPU
  sh -c 'while :; do :; done' &
  hogs+=($!)
done
export CI=${CI:-true}
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  go test -count=1 -run "$pattern" ./cmd/berth
  echo "stress run $i/$runs: passed in $(( $(date +%s) - start )) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
