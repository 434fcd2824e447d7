#!/usr/bin/env bash
# install-kube-test.sh provides the Kubernetes control plane the `berth kube` tests run
# against: kube-apiserver, kube-controller-manager and kubectl built from the pinned tools
# module tools/kube (Go module proxy only; there is no kubelet: Kubernetes 1.37 does not
# support containerd 1.x), and etcd taken from Debian's etcd-server package without
# installing it (so no etcd service is ever started).
#
# The binaries are cached outside the repository, in $BERTH_KUBE_DIR (default
# /var/cache/berth/kube/<version>); internal/kubetest looks there. A binary is rebuilt
# only when it is missing or does not report the pinned version, so a second run does
# no work. A cold build takes 12-30 minutes of CPU on 2 cores and 2.5 GB of memory at
# link time; it runs under nice.
set -euo pipefail

# Keep in step with tools/kube/go.mod and internal/kubetest.Version.
kube_version="v1.37.2"
kube_dir="${BERTH_KUBE_DIR:-/var/cache/berth/kube/$kube_version}"
root="$(cd "$(dirname "$0")/.." && pwd)"

say() { printf 'install-kube-test: %s\n' "$*"; }
fail() { say "$*"; exit 1; }

# Each binary's own version output, checked for the exact pinned version: an unstamped
# build reports v0.0.0-master+$Format:%H$, which kubectl and client-go refuse.
# The output is read whole before grep: with pipefail, grep -q leaving early would
# fail the pipeline on the writer's SIGPIPE.
reports_version() {
	local bin="$kube_dir/$1" out
	[ -x "$bin" ] || return 1
	case "$1" in
	kubectl) out="$("$bin" version --client 2>/dev/null)" || return 1
		grep -qx "Client Version: $kube_version" <<<"$out" ;;
	*) out="$("$bin" --version 2>/dev/null)" || return 1
		grep -qx "Kubernetes $kube_version" <<<"$out" ;;
	esac
}

etcd_present() {
	local out
	[ -x "$kube_dir/etcd" ] || return 1
	out="$("$kube_dir/etcd" --version 2>/dev/null)" || return 1
	grep -q '^etcd Version: 3\.' <<<"$out"
}

# The version variables Kubernetes' own build sets (hack/lib/version.sh), for both the
# server side (component-base) and the client side (client-go).
version_ldflags() {
	local minor="${kube_version#v1.}" flags="-s -w" pkg
	minor="${minor%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	printf '%s' "$flags"
}

build_kube() {
	local missing=() name
	for name in kube-apiserver kube-controller-manager kubectl; do
		reports_version "$name" || missing+=("$name")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		say "kube-apiserver, kube-controller-manager, kubectl $kube_version present in $kube_dir"
		return
	fi
	command -v go >/dev/null 2>&1 || fail "missing ${missing[*]} and no Go toolchain to build them: install Go"
	say "building ${missing[*]} $kube_version (cold: 12-30 min on 2 cores, 2.5 GB at link)"
	local tmp pkgs=() start=$SECONDS
	tmp="$(mktemp -d "$kube_dir/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	for name in "${missing[@]}"; do
		pkgs+=("k8s.io/kubernetes/cmd/$name")
	done
	(cd "$root/tools/kube" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice go build -trimpath \
		-ldflags "$(version_ldflags)" -o "$tmp/" "${pkgs[@]}")
	for name in "${missing[@]}"; do
		mv -f "$tmp/$name" "$kube_dir/$name"
		reports_version "$name" || fail "built $name does not report $kube_version"
	done
	rm -rf "$tmp"
	trap - EXIT
	say "built ${missing[*]} in $((SECONDS - start)) s"
}

# apt-get download needs only the package lists, not root; it fetches the .deb into the
# current directory and dpkg -x unpacks it without running its maintainer scripts.
fetch_etcd() {
	if etcd_present; then
		say "etcd present in $kube_dir"
		return
	fi
	command -v apt-get >/dev/null 2>&1 || fail "no etcd in $kube_dir and no apt-get: put an etcd 3.4+ binary there"
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -q etcd-server >/dev/null 2>&1); then
		say "apt-get download etcd-server failed; refreshing the package lists"
		apt-get update -q >/dev/null
		(cd "$tmp" && apt-get download -q etcd-server) || fail "apt-get download etcd-server failed"
	fi
	dpkg -x "$tmp"/etcd-server_*.deb "$tmp/root"
	install -m 0755 "$tmp/root/usr/bin/etcd" "$kube_dir/etcd"
	rm -rf "$tmp"
	trap - EXIT
	etcd_present || fail "etcd from etcd-server does not run"
	say "etcd $("$kube_dir/etcd" --version | sed -n 's/^etcd Version: //p') unpacked in $kube_dir"
}

main() {
	mkdir -p "$kube_dir" || fail "cannot create $kube_dir: run as root or set BERTH_KUBE_DIR"
	# Two runs at once (make test in two worktrees) must not both build 2.5 GB links.
	exec 9>"$kube_dir/.lock"
	flock 9
	fetch_etcd
	build_kube
}

main "$@"
