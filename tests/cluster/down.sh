#!/usr/bin/env bash
# Stops the local test cluster and leaves nothing behind: every process it started is ended by
# PID (containers and their shims included), mounts under the cluster directory, the pods'
# network namespaces, the bridge and the pod cgroups are removed. Certificates, cached
# binaries and the image registries' storage stay, so the next start is fast; `down.sh --purge` removes the cluster directory too.
# DD_CONFIG picks the configuration (versions.env), as for up.sh: each stops its own cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"
dd_serialize "$0" "$@"

purge=false
[ "${1:-}" = --purge ] && purge=true

stop_pid() { # name: SIGTERM, then SIGKILL after a grace period
  local f="$DD_PIDS/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

[ -d "$DD_CLUSTER_DIR" ] || exit 0
dd_log "stopping configuration $DD_CONFIG ($DD_CLUSTER_DIR)"

# The kubelet first, so that it restarts nothing; then every container through containerd.
stop_pid kubelet
stop_pid kube-scheduler
stop_pid kube-controller-manager
if [ -S "$DD_CONTAINERD_SOCK" ] && command -v ctr >/dev/null; then
  ctr_k8s() { timeout 20 ctr --address "$DD_CONTAINERD_SOCK" -n k8s.io "$@"; }
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
    ctr_k8s tasks kill -s SIGKILL "$task" >/dev/null 2>&1
  done
  sleep 0.5
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
    ctr_k8s tasks delete -f "$task" >/dev/null 2>&1
  done
fi
stop_pid containerd
stop_pid kube-apiserver
stop_pid etcd
stop_pid registry
stop_pid registry-auth

# Shims outlive containerd by design: end the ones that belong to this cluster.
for pid in $(pgrep -f "containerd-shim.*$DD_CONTAINERD_SOCK" 2>/dev/null); do
  kill -KILL "$pid" 2>/dev/null
done

# Mounts below the cluster directory, deepest first (overlay rootfs, shm, projected volumes).
for i in 1 2 3; do
  mounts=$(awk -v d="$DD_CLUSTER_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  [ -n "$mounts" ] || break
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

rm -rf "$DD_CLUSTER_DIR/cni/ipam"

# The pods' network namespaces, the bridge and the kubepods cgroups are the machine's, not the
# cluster directory's. If another test cluster holds the kubelet or etcd port (one started with
# another configuration or cluster directory), they are its own: leave them alone.
other=""
for port in 10250 "$DD_ETCD_PORT"; do
  other=$(dd_listener "$port")
  [ -z "$other" ] || break
done
if [ -n "$other" ]; then
  dd_log "another test cluster runs ($other); its bridge, network namespaces and cgroups stay"
else
  # Network namespaces made for pods by containerd, and the bridge.
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ { print $1 }'); do
    ip netns delete "$ns" 2>/dev/null
  done
  ip link delete "$DD_BRIDGE" 2>/dev/null
  # Pod cgroups the kubelet made (cgroupfs driver, v1 hierarchies), leaves first.
  for hier in /sys/fs/cgroup/*/; do
    [ -d "$hier/kubepods" ] || continue
    find "$hier/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
fi

rm -rf "$DD_CLUSTER_DIR/kubelet" "$DD_CLUSTER_DIR/containerd/state" "$DD_CLUSTER_DIR/run" "$DD_CLUSTER_DIR/etcd"
if $purge; then
  rm -rf "$DD_CLUSTER_DIR"
fi
if [ -z "$other" ]; then
  left=$(dd_leftovers)
  if [ -n "$left" ]; then
    dd_log "error: left behind: $left"
    exit 1
  fi
fi
echo "cluster stopped" >&2
