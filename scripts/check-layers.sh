#!/usr/bin/env bash
# Enforces the package layering of docs/design.md: lower layers import nothing
# internal, and only internal/ctrd imports the containerd client.
set -euo pipefail
mod=$(go list -m)
fail=0
for pkg in project network volumes internal/progress internal/ctrd; do
  [ -d "$pkg" ] || continue
  bad=$(go list -deps "./$pkg" | grep "^$mod/" | grep -v "^$mod/$pkg\$" || true)
  if [ -n "$bad" ]; then echo "layering: $pkg must not import: $bad"; fail=1; fi
done
while read -r pkg imports; do
  case "$pkg" in "$mod/internal/ctrd"|"$mod/internal/ctrd/"*) continue ;; esac
  if grep -q "github.com/containerd/containerd/v2/client" <<<"$imports"; then
    echo "layering: $pkg imports the containerd client; only internal/ctrd may"; fail=1
  fi
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
exit $fail
