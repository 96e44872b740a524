#!/usr/bin/env bash
# Usage: tests/images/import.sh CONTAINERD_ADDRESS
#
# Imports the test cluster's images (built or reused by build.sh) into containerd's k8s.io
# namespace, where the kubelet's CRI finds them. Idempotent: an image already present with
# the same config digest is skipped; a changed one is imported again under the same name.
# The snapshotter is containerd's default unless CONTAINERD_SNAPSHOTTER is set (ctr reads it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 CONTAINERD_ADDRESS" >&2; exit 2; }
address=$1

ctr_() { ctr --address "$address" -n k8s.io "$@"; }
ctr_ version >/dev/null || { echo "images: error: containerd at $address does not answer" >&2; exit 1; }

dir=$("$here/build.sh")
label=distroless-debug.config

while read -r ref file; do
  # The image config digest identifies the image's content (layers by diff ID, and config).
  config=$(tar -xOf "$dir/$file" manifest.json | sed -n 's/.*"Config":"\([0-9a-f]\{64\}\)\.json".*/\1/p')
  [ -n "$config" ] || { echo "images: error: no config digest in $dir/$file" >&2; exit 1; }
  if [ -n "$(ctr_ images ls -q "name==$ref,labels.\"$label\"==$config")" ]; then
    echo "images: $ref already present" >&2
    continue
  fi
  echo "images: importing $ref" >&2
  ctr_ images import "$dir/$file" >/dev/null
  ctr_ images ls -q "name==$ref" | grep -qxF "$ref" ||
    { echo "images: error: $ref missing after importing $dir/$file" >&2; exit 1; }
  ctr_ images label "$ref" "$label=$config" >/dev/null
done <"$dir/images.txt"
