# Shared settings of the local test cluster, sourced by up.sh, down.sh and the demo.
# shellcheck shell=bash

cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cluster/versions.env
. "$cluster_here/versions.env"

DD_CACHE=${DD_CACHE:-$HOME/.cache/distroless-debug}
# Runtime state (certificates, etcd data, containerd root, kubelet root, logs). Short path on
# purpose: unix socket paths below it must stay under 108 bytes.
DD_CLUSTER_DIR=${DD_CLUSTER_DIR:-/var/tmp/dd-cluster}
K8S_BIN="$DD_CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$DD_CACHE/etcd-$ETCD_VERSION/bin"

# The kubelet refuses a loopback --node-ip ("nodeIP can't be loopback address") and leaves the
# node without addresses. Named "localhost", the node's Hostname address resolves to
# 127.0.0.1 everywhere, and the apiserver reaches the kubelet through it
# (--kubelet-preferred-address-types=Hostname).
DD_NODE_NAME=localhost
DD_APISERVER_PORT=${DD_APISERVER_PORT:-16443}
DD_ETCD_PORT=12379
DD_ETCD_PEER_PORT=12380
DD_BRIDGE=ddcni0
DD_POD_CIDR=10.244.0.0/16
DD_SERVICE_CIDR=10.96.0.0/24
# Client-certificate users without any rights of their own; tests bind Roles to them.
DD_TEST_USERS=(alice bob carol)

DD_CONTAINERD_SOCK="$DD_CLUSTER_DIR/run/containerd.sock"
DD_KUBECONFIG="$DD_CLUSTER_DIR/admin.kubeconfig"
DD_LOGS="$DD_CLUSTER_DIR/logs"
DD_PIDS="$DD_CLUSTER_DIR/pids"

dd_log() { printf '[cluster] %s\n' "$*" >&2; }

dd_kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$DD_KUBECONFIG" "$@"; }

# Prints the last lines of every component log: called when something fails.
dd_dump_logs() {
  local f
  for f in "$DD_LOGS"/*.log; do
    [ -f "$f" ] || continue
    case "$f" in *audit.log) continue ;; esac
    printf '\n===== %s (last 40 lines) =====\n' "$(basename "$f")" >&2
    tail -n 40 "$f" >&2
  done
}

dd_pid_alive() {
  local f="$DD_PIDS/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}
