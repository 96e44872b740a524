#!/usr/bin/env bash
# Checks that the static Linux binary runs in an empty `FROM scratch` container: a one-file
# OCI image (built with umoci, converted with skopeo as tests/images/build.sh does), run with
# ctr by a throwaway containerd that has its own root, state and socket under a temporary
# directory and is stopped afterwards (no mounts or processes left behind). Needs root.
#
#   krew/test-scratch.sh [BINARY]   default target/x86_64-unknown-linux-musl/release/kubectl-distroless_debug
#
# Prints one line per check and exits 1 on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-musl/release/kubectl-distroless_debug}

ok() { echo "ok - $*"; }
fatal() { # message [output file]
  echo "FAIL - $1"
  [ -z "${2:-}" ] || tail -n 30 "$2" | sed 's/^/    /'
  exit 1
}

[ "$(id -u)" = 0 ] || fatal "run as root (containerd)"
for tool in umoci skopeo containerd ctr runc readelf; do
  command -v "$tool" >/dev/null || fatal "$tool not found (apt-get install umoci skopeo containerd runc binutils)"
done
[ -x "$binary" ] || fatal "$binary not found (krew/build-archive.sh builds it)"

if readelf -lW "$binary" | grep -q 'Requesting program interpreter' ||
  readelf -dW "$binary" | grep -q '(NEEDED)'; then
  fatal "$binary is dynamically linked"
fi
ok "static: $(file -b "$binary" | cut -d, -f1-5); ldd: $(ldd "$binary" 2>&1 | tr -d '\t' | head -n1)"
size=$(wc -c <"$binary")
ok "size: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f MiB", s / 1048576 }'))"

# Short path: containerd's socket path must stay under 108 bytes.
work=$(mktemp -d /tmp/dd-scratch.XXXXXX)
log=$work/log
containerd_pid=
cleanup() {
  if [ -n "$containerd_pid" ]; then
    kill "$containerd_pid" 2>/dev/null || true
    wait "$containerd_pid" 2>/dev/null || true
  fi
  # Anything containerd left mounted below the work directory, deepest first.
  awk -v w="$work" '$2 ~ "^" w { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- image ----------------------------------------------------------------------------------
ref=localhost/distroless-debug-scratch:test
oci=$work/oci bundle=$work/bundle
{
  umoci init --layout "$oci"
  umoci new --image "$oci:test"
  umoci unpack --image "$oci:test" "$bundle"
  install -m 0755 "$binary" "$bundle/rootfs/kubectl-distroless_debug"
  umoci repack --image "$oci:test" "$bundle"
  umoci config --image "$oci:test" --architecture amd64 --os linux \
    --config.entrypoint /kubectl-distroless_debug
  skopeo --insecure-policy copy --quiet "oci:$oci:test" "docker-archive:$work/image.tar:$ref"
} >"$log" 2>&1 || fatal "build the FROM scratch image" "$log"
files=$(tar -xOf "$work/image.tar" --wildcards '*.tar' 2>/dev/null | tar -t 2>/dev/null | grep -v -e '/$' -e '^\.$' | tr '\n' ' ')
ok "image holds only: $files"

# --- throwaway containerd -------------------------------------------------------------------
sock=$work/containerd.sock
cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/opt"
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do
  ctr --address "$sock" version >/dev/null 2>&1 && break
  kill -0 "$containerd_pid" 2>/dev/null || fatal "containerd exited" "$work/containerd.log"
  sleep 0.1
done
ctr --address "$sock" version >/dev/null 2>&1 || fatal "containerd did not start" "$work/containerd.log"
c() { ctr --address "$sock" --namespace dd-scratch "$@"; }
c images import "$work/image.tar" >"$log" 2>&1 || fatal "ctr images import" "$log"

# --- run ------------------------------------------------------------------------------------
if c run --rm "$ref" dd-scratch-version /kubectl-distroless_debug --version >"$log" 2>&1; then
  ok "runs FROM scratch: $(head -n1 "$log")"
else
  fatal "run --version FROM scratch" "$log"
fi
if c run --rm "$ref" dd-scratch-help /kubectl-distroless_debug --help >"$log" 2>&1 &&
  grep -q '^Usage: kubectl distroless-debug' "$log"; then
  ok "--help FROM scratch"
else
  fatal "run --help FROM scratch" "$log"
fi
c images rm "$ref" >/dev/null 2>&1 || true
echo "scratch tests: all passed"
