#!/usr/bin/env bash
# Builds krew's own tools from the Go module sigs.k8s.io/krew, for the krew tests:
#
#   krew                    cmd/krew, run as the kubectl plugin `kubectl krew` (installed
#                           under the name kubectl-krew as well)
#   validate-krew-manifest  cmd/validate-krew-manifest, the check krew-index runs on manifests
#
# into $DD_CACHE/krew-<version>/bin, built once per version (a second run only prints the
# result). stdout is that bin directory (one line); progress goes to stderr.
#
# KREW_VERSION picks the module version. v0.4.4 is the newest one the Go module proxy serves
# (its version list shows only v0.4.3; v0.4.4 resolves when asked for by name; v0.4.5 is
# refused with 403).
set -euo pipefail
version=${KREW_VERSION:-v0.4.4}
cache=${DD_CACHE:-$HOME/.cache/distroless-debug}
out="$cache/krew-$version"

log() { echo "build-krew: $*" >&2; }
die() { echo "build-krew: error: $*" >&2; exit 1; }

command -v go >/dev/null || die "go not found"
command -v flock >/dev/null || die "flock not found (util-linux)"

if [ -f "$out/.complete" ]; then
  log "cached in $out/bin"
  echo "$out/bin"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per version; whoever waited finds the finished result.
exec 9>"$cache/.krew-$version.lock"
flock 9
if [ -f "$out/.complete" ]; then
  log "cached in $out/bin"
  echo "$out/bin"
  exit 0
fi

log "building sigs.k8s.io/krew@$version into $out/bin"
work=$(mktemp -d "$cache/.build-krew-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out/bin"
# `go install pkg@version` builds in module mode from the module's own go.mod and go.sum,
# outside any project module; the version is part of the binary (krew version).
(
  cd "$work"
  export GOBIN="$work/out/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$version" \
    "sigs.k8s.io/krew/cmd/krew@$version" \
    "sigs.k8s.io/krew/cmd/validate-krew-manifest@$version"
)
ln -s krew "$work/out/bin/kubectl-krew"
"$work/out/bin/validate-krew-manifest" --help >/dev/null 2>&1 ||
  die "validate-krew-manifest does not run"
echo "$version" >"$work/out/version"
touch "$work/out/.complete"
rm -rf "$out"
mv "$work/out" "$out"
log "built: $(cd "$out/bin" && echo *)"
echo "$out/bin"
