#!/usr/bin/env bash
# install-runtime.sh makes this host able to run berth and its end-to-end tests:
# the Debian packages berth drives (containerd, runc, CNI plugins, iptables) and the
# ones the tests use (busybox-static for images, docker-registry for a local registry),
# plus a containerd that answers on its socket, and BuildKit's buildkitd (built from
# the pinned tools module tools/buildkit, installed in /usr/local/bin) for `build:`. It is idempotent: a second run only
# reports what is already there.
set -euo pipefail

addr="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
log_file="${BERTH_CONTAINERD_LOG:-/var/log/berth-containerd.log}"

say() { printf 'install-runtime: %s\n' "$*"; }

# words joins a newline-separated list into one line.
words() { printf '%s' "$1" | tr '\n' ' '; }

# Each check is "package|test": the test is run with eval and decides by presence
# only, so a second run needs no apt work at all.
checks=(
	"containerd|have containerd && have ctr"
	"runc|have runc"
	"containernetworking-plugins|test -x /usr/lib/cni/bridge || test -x /opt/cni/bin/bridge"
	"iptables|have iptables"
	"busybox-static|busybox_is_static"
	"docker-registry|have docker-registry"
)

# have finds a command also in the sbin directories a non-root PATH lacks.
have() {
	command -v "$1" || test -x "/usr/sbin/$1" || test -x "/sbin/$1"
}

# The test kit copies /bin/busybox into images that have no libc, so the dynamic
# build of the plain busybox package does not count.
busybox_is_static() {
	[ -x /bin/busybox ] || return 1
	! LC_ALL=C ldd /bin/busybox >/dev/null 2>&1
}

missing_packages() {
	local entry pkg test
	for entry in "${checks[@]}"; do
		pkg="${entry%%|*}"
		test="${entry#*|}"
		if ! eval "$test" >/dev/null 2>&1; then
			printf '%s\n' "$pkg"
		fi
	done
}

# ctr blocks until its timeout when nothing listens, so look for the socket first.
containerd_answers() {
	[ -S "$addr" ] || return 1
	command -v ctr >/dev/null 2>&1 || return 1
	timeout 3 ctr --address "$addr" version >/dev/null 2>&1
}

can_install() {
	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1
}

# Without root or apt-get we cannot fix anything ourselves: tell the user what to do.
explain_and_exit() {
	local missing="$1"
	if [ -z "$missing" ] && containerd_answers; then
		say "all present, containerd answers on $addr"
		exit 0
	fi
	if [ -n "$missing" ]; then
		say "missing packages: $(words "$missing")"
		say "install them as root: apt-get install $(words "$missing")"
	fi
	if ! containerd_answers; then
		say "containerd does not answer on $addr (not running, or this user may not use its socket):"
		say "start it as root: systemctl start containerd, or: containerd &"
	fi
	say "run this script as root on Debian to do it for you"
	exit 1
}

install_missing() {
	local missing="$1"
	if [ -z "$missing" ]; then
		say "all packages present"
		return
	fi
	say "installing: $(words "$missing")"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # one package per word is what we want
	apt-get install -y -q --no-install-recommends $missing
	local still
	still="$(missing_packages)"
	if [ -n "$still" ]; then
		say "still missing after apt-get install: $(words "$still")"
		exit 1
	fi
}

# The CNI bridge plugin needs bridge netfilter for port mapping and isolation rules.
# Loading the module is the only host network change we make.
ensure_br_netfilter() {
	if [ -d /proc/sys/net/bridge ]; then
		say "br_netfilter loaded"
		return
	fi
	if command -v modprobe >/dev/null 2>&1; then
		say "loading br_netfilter"
		modprobe br_netfilter || say "modprobe br_netfilter failed (ignored)"
	else
		say "br_netfilter not loaded and no modprobe: load it on the host if CNI port mapping fails"
	fi
}

# Poll against a deadline, not a count: one ctr call can itself take up to 3 s.
# A pid, when given, lets us stop early once the daemon we started has died.
wait_for_containerd() {
	local pid="${1:-}" deadline=$((SECONDS + 20))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if containerd_answers; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.25
	done
	containerd_answers
}

# Under systemd the journal has the log; our own log file only when we started it.
show_containerd_log() {
	if [ -z "$1" ]; then
		journalctl -u containerd -n 20 --no-pager 2>&1 || true
	elif [ -f "$log_file" ]; then
		tail -n 20 "$log_file"
	fi
}

start_containerd() {
	if containerd_answers; then
		say "containerd answers on $addr"
		return
	fi
	local pid=""
	if [ -d /run/systemd/system ]; then
		say "starting containerd with systemctl"
		systemctl start containerd
	else
		say "starting containerd in the background (log: $log_file)"
		mkdir -p "$(dirname "$addr")"
		nohup setsid containerd --address "$addr" >"$log_file" 2>&1 &
		pid=$!
	fi
	if ! wait_for_containerd "$pid"; then
		say "containerd did not answer on $addr; its last log lines:"
		show_containerd_log "$pid" | sed 's/^/install-runtime:   /'
		exit 1
	fi
	say "containerd answers on $addr"
}

buildkit_version="v0.34.2" # keep in step with tools/buildkit/go.mod and internal/build.Version
buildkit_bin="${BERTH_BUILDKIT_BIN:-/usr/local/bin}"

buildkit_current() {
	"$buildkit_bin/buildkitd" --version 2>/dev/null | grep -qw -- "$buildkit_version"
}

# buildkitd has no Debian package of a recent enough release, and `go install` refuses
# it (its go.mod has exclude directives): build it from the tools module, CGO off.
ensure_buildkit() {
	if buildkit_current; then
		say "buildkitd $buildkit_version present"
		return
	fi
	local root tmp
	root="$(cd "$(dirname "$0")/.." && pwd)"
	if ! command -v go >/dev/null 2>&1; then
		say "buildkitd $buildkit_version missing and no Go toolchain to build it: install Go, or put buildkitd in $buildkit_bin"
		exit 1
	fi
	say "building buildkitd $buildkit_version (a few minutes the first time)"
	tmp="$(mktemp -d)"
	(cd "$root/tools/buildkit" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
		-ldflags "-s -w -X github.com/moby/buildkit/version.Version=$buildkit_version" \
		-o "$tmp/" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
	install -m 0755 "$tmp/buildkitd" "$tmp/buildctl" "$buildkit_bin/"
	rm -rf "$tmp"
	buildkit_current || { say "built buildkitd does not report $buildkit_version"; exit 1; }
	say "buildkitd $buildkit_version installed in $buildkit_bin"
}

main() {
	local missing
	missing="$(missing_packages)"
	if ! can_install; then
		explain_and_exit "$missing"
	fi
	install_missing "$missing"
	ensure_br_netfilter
	start_containerd
	ensure_buildkit
}

main "$@"
