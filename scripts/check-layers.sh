#!/usr/bin/env bash
# Enforces the package layering of docs/design.md: lower layers import only
# what the table allows, and only internal/ctrd imports the containerd client.
set -euo pipefail
mod=$(go list -m)
fail=0
# package → the internal packages it may import (besides itself)
declare -A allowed=(
  [project]=""
  [network]=""
  [network/dns]="network"
  [volumes]=""
  [internal/progress]=""
  [internal/logs]=""
  [internal/daemon]=""
  [internal/imagekit]=""
  [internal/build]=""
  [internal/treetar]=""
  [internal/ctrd]="internal/progress"
  [cmd/berth-logger]="internal/logs"
)
for pkg in "${!allowed[@]}"; do
  [ -d "$pkg" ] || continue
  for dep in $(go list -deps "./$pkg" | grep "^$mod/" || true); do
    rel=${dep#"$mod/"}
    [ "$rel" = "$pkg" ] && continue
    if ! grep -qw -- "$rel" <<<"${allowed[$pkg]}"; then
      echo "layering: $pkg must not import $rel"; fail=1
    fi
  done
done
while read -r pkg imports; do
  # bench/floor measures containerd itself, outside berth
  case "$pkg" in "$mod/internal/ctrd"|"$mod/internal/ctrd/"*|"$mod/bench/"*) continue ;; esac
  if grep -q "github.com/containerd/containerd/v2/client" <<<"$imports"; then
    echo "layering: $pkg imports the containerd client; only internal/ctrd may"; fail=1
  fi
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
exit $fail
