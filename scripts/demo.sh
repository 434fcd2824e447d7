#!/usr/bin/env bash
# demo.sh takes a Debian machine, as root, to a running example stack: it installs the
# runtime when missing (scripts/install-runtime.sh: containerd, CNI, buildkitd), builds
# berth, compiles the example programs and loads the base image (no Docker, no registry),
# then `up --build` builds the images from their Dockerfiles with BuildKit and starts
# examples/devenv, and shows the page answering on 127.0.0.1.
#
# It is re-runnable: builds are reproducible and cached, so a second run builds the same
# images and `up` finds nothing to change. DEVENV_PORT picks another host port than 8080.
set -euo pipefail

cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod

berth=bin/berth
compose=examples/devenv/compose.yaml
port="${DEVENV_PORT:-8080}"
url="http://127.0.0.1:$port"
started=$SECONDS

# bold only on a terminal that wants colours
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# fetch GETs a URL, or POSTs its second argument; curl is not on every minimal Debian,
# busybox-static (which install-runtime.sh installs) always is.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 3 ${2:+--data "$2"} "$1"
	else
		timeout 3 busybox wget -q -O- ${2:+--post-data "$2"} "$1"
	fi
}

# wait_for_page polls for at most 15 s: `up --wait` returned once web was healthy inside
# its container, and the published port answers at the same time or moments later.
wait_for_page() {
	local deadline=$((SECONDS + 15)) page
	while [ "$SECONDS" -lt "$deadline" ]; do
		if page="$(fetch "$url/" 2>/dev/null)"; then
			printf '%s\n' "$page"
			return 0
		fi
		sleep 0.5
	done
	return 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root: containerd, bridges and iptables rules need it"
command -v go >/dev/null 2>&1 || die "the Go toolchain is needed to build berth and the example programs"

step "Runtime: containerd, runc, CNI plugins, busybox-static, buildkitd (installed when missing)"
bash scripts/install-runtime.sh

step "Build berth: bin/berth, bin/berth-logger, bin/berth-helper and bin/berth-kube"
make --no-print-directory build

step "Compile the example programs and write the base image (no Docker, no registry, no network)"
go run ./examples/cmd/build-images

step "Load the base image into containerd"
"$berth" image load -i examples/.images/base.tar

step "Build and start examples/devenv: web, api, store and worker, each waiting for its dependencies to be healthy"
DEVENV_PORT="$port" "$berth" -f "$compose" up -d --wait --build

step "The page answers on $url"
page="$(wait_for_page)" || die "nothing answers on $url; see: $berth -f $compose logs"
grep -o '<title>.*</title>' <<<"$page"
echo "POST $url/api/notes: web passes it to api, api stores it in store:"
fetch "$url/api/notes" '{"text": "hello from the demo"}'

step "Up and running in $((SECONDS - started)) s. Try next:"
cat <<EOF
  open $url in a browser (or: curl $url/api/notes)
  $berth -f $compose ps                  # the containers, their health, the published port
  $berth -f $compose logs -f             # follow every service's output (Ctrl-C to stop)
  $berth -f $compose exec api nslookup store    # services find each other by name
  $berth -f $compose exec web nslookup store    # ...but only on networks they share
  $berth -f $compose down -v             # remove containers, networks and the volume

  examples/README.md has the other stacks: a monolith split into services, and a CI test run.
EOF
