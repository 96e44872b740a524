#!/usr/bin/env bash
# Builds the Kubernetes components the test cluster runs, from the Go module k8s.io/kubernetes,
# and caches them by version under $DD_CACHE/k8s-$K8S_VERSION/bin; and etcd, from the Go module
# go.etcd.io/etcd/server/v3, under $DD_CACHE/etcd-$ETCD_VERSION/bin. Idempotent: a cached
# build is reused as it is.
#
# k8s.io/kubernetes replaces its k8s.io/* staging modules with local paths that are not part of
# the published module, so it cannot be built with `go install pkg@version`. Instead a throwaway
# module requires it and replaces every staging module with its published v0.Y.Z twin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/versions.env
. "$here/versions.env"

cache=${DD_CACHE:-$HOME/.cache/distroless-debug}

# etcd: a main package of our own around etcdmain, the published server module's entry point.
etcd_out="$cache/etcd-$ETCD_VERSION"
if [ -x "$etcd_out/bin/etcd" ]; then
  echo "etcd $ETCD_VERSION: cached in $etcd_out/bin"
else
  command -v go >/dev/null || { echo "error: go is required to build etcd" >&2; exit 1; }
  mkdir -p "$etcd_out/src" "$etcd_out/bin"
  (
    cd "$etcd_out/src"
    printf 'module distroless-debug.test/etcd\n\ngo 1.24\n' >go.mod
    cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    echo "building etcd $ETCD_VERSION ..."
    export GOFLAGS=-mod=mod CGO_ENABLED=0
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$etcd_out/bin/etcd.tmp" .
    mv "$etcd_out/bin/etcd.tmp" "$etcd_out/bin/etcd"
  )
  echo "etcd $ETCD_VERSION: built in $etcd_out/bin"
fi

out="$cache/k8s-$K8S_VERSION"
bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

have_all() {
  for b in "${bins[@]}"; do [ -x "$out/bin/$b" ] || return 1; done
  [ -f "$out/bin/.complete" ]
}
if have_all; then
  echo "kubernetes $K8S_VERSION: cached in $out/bin"
  exit 0
fi

command -v go >/dev/null || { echo "error: go is required to build Kubernetes" >&2; exit 1; }
mkdir -p "$out/src" "$out/bin"
cd "$out/src"

staging_version="v0.${K8S_VERSION#v1.}"
upstream_mod=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
  sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  echo "module distroless-debug.test/cluster"
  echo
  echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$upstream_mod")"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  # Every k8s.io module the upstream go.mod pins at v0.0.0 is a staging module.
  sed -n 's/^[[:space:]]*\(k8s\.io\/[a-z0-9-]*\) v0\.0\.0$/\1/p' "$upstream_mod" | sort -u |
    while read -r m; do echo "	$m => $m $staging_version"; done
  echo ")"
} >go.mod
# godebug settings of the upstream module apply to its binaries.
sed -n 's/^godebug \(.*\)/godebug \1/p' "$upstream_mod" >>go.mod
cat >main.go <<'GO'
package main

func main() {}
GO

build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date -X $pkg.gitCommit=module-$K8S_VERSION"
done

export GOFLAGS=-mod=mod CGO_ENABLED=0
for b in "${bins[@]}"; do
  if [ -x "$out/bin/$b" ]; then continue; fi
  echo "building $b $K8S_VERSION ..."
  start=$SECONDS
  go build -trimpath -ldflags "$ldflags" -o "$out/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
  mv "$out/bin/$b.tmp" "$out/bin/$b"
  echo "built $b in $((SECONDS - start))s"
done
touch "$out/bin/.complete"
echo "kubernetes $K8S_VERSION: built in $out/bin"
