#!/usr/bin/env bash
# Usage: tests/images/big.sh IMAGES_DIR
#
# Builds the big toolbox of the registry pull tests (DD_REGISTRY_BIG_IMAGE): the toolbox
# (toolbox.tar of IMAGES_DIR, the output of build.sh) plus one layer holding 300 MB of
# incompressible data, so that pulling it takes a while even on loopback. It is pushed to the
# test registry only, never imported. The data is an AES-CTR keystream of a fixed key: the same
# bytes on every build, and gzip cannot shrink them.
#
# Cached in $DD_CACHE/images-big/<recipe>-<toolbox config digest>/ as an OCI layout; prints
# the layout's directory (tag "1") on stdout.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 IMAGES_DIR" >&2; exit 2; }
dir=$1
# Bump when what is built here changes.
recipe=v1
size_mb=300

log() { echo "images: $*" >&2; }
config=$(tar -xOf "$dir/toolbox.tar" manifest.json | sed -n 's/.*"Config":"\([0-9a-f]\{64\}\)\.json".*/\1/p')
[ -n "$config" ] || { log "error: no config digest in $dir/toolbox.tar"; exit 1; }
cache=${DD_CACHE:-$HOME/.cache/distroless-debug}/images-big
out="$cache/$recipe-${config:0:16}"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
  log "big toolbox cached in $out"
  echo "$out/oci"
  exit 0
fi

log "building the big toolbox ($size_mb MB of data) into $out"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
skopeo --insecure-policy copy --quiet "docker-archive:$dir/toolbox.tar" "oci:$work/oci:1"
mkdir -p "$work/layer/data"
# openssl ends on SIGPIPE when head has enough.
{ openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass pass:distroless-debug-big-toolbox \
  -in /dev/zero 2>/dev/null || true; } | head -c $((size_mb << 20)) >"$work/layer/data/noise"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/layer" \
  -cf "$work/layer.tar" data
umoci raw add-layer --image "$work/oci:1" --history.created 1970-01-01T00:00:00Z \
  --history.created_by "tests/images/big.sh: $size_mb MB of incompressible data" "$work/layer.tar"
umoci gc --layout "$work/oci"
rm -rf "$out"
mkdir -p "$out"
mv "$work/oci" "$out/oci"
touch "$out/.complete"
log "big toolbox: $out ($(du -sh "$out/oci" | cut -f1))"
echo "$out/oci"
