#!/usr/bin/env bash
# Builds the components of the selected test cluster configuration (DD_CONFIG, see
# versions.env) from their Go modules and caches each by version under $DD_CACHE:
#   etcd        go.etcd.io/etcd/server/v3            etcd-$ETCD_VERSION/bin
#   containerd  github.com/containerd/containerd/v2  containerd-$CONTAINERD_VERSION/bin
#               (containerd, containerd-shim-runc-v2, ctr; unless the configuration says debian)
#   runc        github.com/opencontainers/runc       runc-$RUNC_VERSION/bin (unless debian)
#   registry    github.com/distribution/distribution/v3  registry-$REGISTRY_VERSION/bin
#   crictl      sigs.k8s.io/cri-tools                crictl-$CRICTL_VERSION/bin
#   Kubernetes  k8s.io/kubernetes                    k8s-$K8S_VERSION/bin
# Idempotent: a cached build is reused as it is.
#
# k8s.io/kubernetes replaces its k8s.io/* staging modules with local paths that are not part of
# the published module, so it cannot be built with `go install pkg@version`. Instead a throwaway
# module requires it and replaces every staging module with its published v0.Y.Z twin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"
dd_versions

cache=$DD_CACHE
need_go() { command -v go >/dev/null || { echo "error: go is required to build $1" >&2; exit 1; }; }

# etcd: a main package of our own around etcdmain, the published server module's entry point.
etcd_out="$cache/etcd-$ETCD_VERSION"
if [ -x "$etcd_out/bin/etcd" ]; then
  echo "etcd $ETCD_VERSION: cached in $etcd_out/bin"
else
  need_go etcd
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

# go install PKG@VERSION builds these: neither module replaces anything in its go.mod. Each is
# installed into a scratch directory and moved in place whole, so an interrupted build leaves
# no half-filled cache entry behind.
go_install() { # cache entry, module@version, go install arguments...
  local out=$1 what=$2
  shift 2
  need_go "$what"
  echo "building $what ..."
  local start=$SECONDS
  rm -rf "${out:?}/bin.tmp"
  mkdir -p "$out"
  GOBIN="$out/bin.tmp" go install -trimpath "$@"
  rm -rf "${out:?}/bin"
  mv "$out/bin.tmp" "$out/bin"
  echo "$what: built in $((SECONDS - start))s in $out/bin"
}

# containerd 2 with its runc shim and ctr (up.sh and import.sh talk to it with the ctr of the
# same version). Debian's containerd is 1.6: a configuration that wants 2.x builds it.
if [ "$CONTAINERD_VERSION" != debian ]; then
  if [ -x "$CONTAINERD_BIN/containerd" ] && [ -x "$CONTAINERD_BIN/containerd-shim-runc-v2" ] &&
    [ -x "$CONTAINERD_BIN/ctr" ]; then
    echo "containerd $CONTAINERD_VERSION: cached in $CONTAINERD_BIN"
  else
    m=github.com/containerd/containerd/v2
    # The version package says "2.x.y+unknown" unless the release build's ldflags fill it.
    go_install "$(dirname "$CONTAINERD_BIN")" "containerd $CONTAINERD_VERSION" \
      -ldflags "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Revision=module-$CONTAINERD_VERSION" \
      "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
      "$m/cmd/ctr@$CONTAINERD_VERSION"
  fi
fi

# runc with seccomp support, which needs cgo and libseccomp's headers (install-deps.sh).
if [ "$RUNC_VERSION" != debian ]; then
  if [ -x "$RUNC_BIN/runc" ]; then
    echo "runc $RUNC_VERSION: cached in $RUNC_BIN"
  else
    CGO_ENABLED=1 go_install "$(dirname "$RUNC_BIN")" "runc $RUNC_VERSION" \
      -tags seccomp -ldflags "-s -w" "github.com/opencontainers/runc@$RUNC_VERSION"
  fi
fi

# The image registry of the pull tests (up.sh runs two on loopback), the Go module's own
# command: its go.mod replaces nothing.
if [ -x "$REGISTRY_BIN/registry" ]; then
  echo "registry $REGISTRY_VERSION: cached in $REGISTRY_BIN"
else
  CGO_ENABLED=0 go_install "$(dirname "$REGISTRY_BIN")" "registry $REGISTRY_VERSION" \
    -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" \
    "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
fi

# crictl: the registry tests remove images from the node through the runtime's CRI.
if [ -x "$CRICTL_BIN/crictl" ]; then
  echo "crictl $CRICTL_VERSION: cached in $CRICTL_BIN"
else
  CGO_ENABLED=0 go_install "$(dirname "$CRICTL_BIN")" "crictl $CRICTL_VERSION" \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
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

need_go Kubernetes
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
