#!/usr/bin/env bash
# Enforces the package layering of docs/design.md: lower layers import only
# what the table allows, and only internal/ctrd imports the containerd client.
set -euo pipefail
mod=$(go list -m)
fail=0
# package → the internal packages it may import (besides itself)
declare -A allowed=(
  [project]="internal/record internal/runspec network/netspec"
  [network/netspec]=""
  [internal/runspec]=""
  [internal/record]="internal/runspec network/netspec"
  [internal/atomicfile]=""
  [internal/translate]="project internal/record internal/runspec network/netspec"
  [internal/helper]="internal/daemon network/dns network network/netspec internal/atomicfile internal/companion internal/ctrd internal/progress internal/runspec internal/record internal/logs internal/procfs service/observed service/runstate service/supervise"
  [internal/companion]=""
  [service/observed]="internal/record internal/runspec network/netspec"
  [service/runstate]="service/observed internal/atomicfile internal/ctrd internal/progress internal/runspec internal/record network/netspec internal/logs internal/procfs"
  [network]="network/netspec internal/atomicfile"
  [network/dns]="network network/netspec internal/atomicfile"
  [volumes]="internal/atomicfile"
  [internal/progress]=""
  [internal/logs]=""
  [internal/daemon]="internal/atomicfile"
  [internal/imagekit]=""
  [internal/build]="internal/atomicfile"
  [internal/ctrd]="internal/progress internal/runspec"
  [internal/watch]=""
  [internal/fscopy]=""
  [internal/procfs]=""
  [service/supervise]="service/observed service/runstate internal/record internal/runspec network/netspec internal/progress internal/atomicfile internal/ctrd internal/logs internal/procfs"
  [service/attach]="service/plan service/observed project internal/record internal/translate internal/runspec network/netspec internal/progress"
  [service/day2]="service/plan service/observed project internal/record internal/translate internal/runspec network/netspec internal/progress internal/ctrd internal/fscopy internal/procfs"
  [service/plan]="service/observed project internal/record internal/translate internal/runspec network/netspec internal/progress"
  [internal/kubetest]="internal/testenv internal/imagekit"
  [internal/kube]="project internal/translate internal/record internal/runspec network/netspec"
  [internal/kubeapply]="internal/kube internal/progress project internal/translate internal/record internal/runspec network/netspec"
  [internal/treetar]=""
  [cmd/berth-logger]="internal/logs"
  [cmd/berth-helper]="internal/helper internal/daemon network/dns network network/netspec internal/atomicfile internal/companion internal/ctrd internal/progress internal/runspec internal/record internal/logs internal/procfs service/observed service/runstate service/supervise"
)
for pkg in "${!allowed[@]}"; do
  [ -d "$pkg" ] || continue
  for dep in $(go list -deps "./$pkg" | grep "^$mod/" || true); do
    rel=${dep#"$mod/"}
    [ "$rel" = "$pkg" ] && continue
    # exact entries: "network" must not pass where only "network/netspec" is allowed
    if [[ " ${allowed[$pkg]} " != *" $rel "* ]]; then
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
