#!/usr/bin/env bash
# make bench: berth against the floors (the same work done directly through containerd,
# networked through go-cni or natively through netlink and iptables-restore), side by
# side, with the CPU time of each, and against Docker Compose when a docker daemon
# answers, in the containerd namespace berth-bench and a temporary data root that are
# removed at the end. Take /run/berth/e2e.lock around it (see docs/benchmarks.md). Needs root, containerd, the CNI plugins and
# busybox-static (scripts/install-runtime.sh). Extra arguments go to bench/run, e.g.
#   bash scripts/bench.sh -pairs 3 -only indep10,chain10
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod
GO=${GO:-go}

CGO_ENABLED=0 $GO build -trimpath -tags kubeplugin,urfave_cli_no_docs -ldflags '-s -w' -o bin/berth ./cmd/berth
CGO_ENABLED=0 $GO build -trimpath -ldflags '-s -w' -o bin/berth-logger ./cmd/berth-logger
CGO_ENABLED=0 $GO build -trimpath -ldflags '-s -w' -o bin/berth-helper ./cmd/berth-helper
CGO_ENABLED=0 $GO build -trimpath -o bin/bench-floor ./bench/floor
CGO_ENABLED=0 $GO build -trimpath -o bin/bench-run ./bench/run

# an unstripped berth for perf, beside berth-logger and berth-helper so that it finds them
profile=()
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then
	CGO_ENABLED=0 $GO build -trimpath -tags kubeplugin,urfave_cli_no_docs -o bin/berth-prof ./cmd/berth
	profile=(-perf-berth bin/berth-prof)
fi

out=${BENCH_OUT:-/tmp/berth-bench-results}
exec bin/bench-run -berth bin/berth -floor bin/bench-floor -o "$out" "${profile[@]}" "$@"
