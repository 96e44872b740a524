# Shared settings of the local test cluster, sourced by build.sh, up.sh, down.sh, tests/run.sh,
# the demo and the benchmark. DD_CONFIG picks the configuration (see versions.env).
# shellcheck shell=bash

cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cluster/versions.env
. "$cluster_here/versions.env"

DD_CACHE=${DD_CACHE:-$HOME/.cache/distroless-debug}
# Runtime state (certificates, etcd data, containerd root, kubelet root, logs). Short path on
# purpose: unix socket paths below it must stay under 108 bytes. One directory per
# configuration, so that different containerd versions never share a root (containerd 2 would
# migrate 1.6's metadata); the stable one keeps the original name.
if [ "$DD_CONFIG" = stable ]; then
  DD_CLUSTER_DIR=${DD_CLUSTER_DIR:-/var/tmp/dd-cluster}
else
  DD_CLUSTER_DIR=${DD_CLUSTER_DIR:-/var/tmp/dd-cluster-$DD_CONFIG}
fi
K8S_BIN="$DD_CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$DD_CACHE/etcd-$ETCD_VERSION/bin"
REGISTRY_BIN="$DD_CACHE/registry-$REGISTRY_VERSION/bin"
CRICTL_BIN="$DD_CACHE/crictl-$CRICTL_VERSION/bin"
# containerd (with its shim and ctr) and runc: Debian's on PATH, or built by build.sh and put
# first on PATH here, so that up.sh, down.sh and import.sh run the configuration's binaries,
# and containerd finds the configuration's shim (containerd looks the shim up on PATH).
DD_CNI_BIN=/usr/lib/cni
if [ "$CONTAINERD_VERSION" != debian ]; then
  CONTAINERD_BIN="$DD_CACHE/containerd-$CONTAINERD_VERSION/bin"
  PATH="$CONTAINERD_BIN:$PATH"
  # containerd 2.2+ deprecates cgroup v1 and its ctr repeats the warning on every command;
  # containerd's log says it once.
  export CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=1
fi
if [ "$RUNC_VERSION" != debian ]; then
  RUNC_BIN="$DD_CACHE/runc-$RUNC_VERSION/bin"
  PATH="$RUNC_BIN:$PATH"
fi
export PATH

# The kubelet refuses a loopback --node-ip ("nodeIP can't be loopback address") and leaves the
# node without addresses. Named "localhost", the node's Hostname address resolves to
# 127.0.0.1 everywhere, and the apiserver reaches the kubelet through it
# (--kubelet-preferred-address-types=Hostname).
DD_NODE_NAME=localhost
DD_APISERVER_PORT=${DD_APISERVER_PORT:-16443}
DD_ETCD_PORT=12379
DD_ETCD_PEER_PORT=12380
# Two image registries on loopback (addresses in images.env), TLS with a certificate of the
# cluster's CA (containerd trusts them through certs.d hosts files): one open to all, one
# behind htpasswd auth (user and password in $DD_REGISTRY_DIR/auth.env). distribution's auth
# is registry-wide, hence two processes.
# shellcheck source=tests/images/images.env
. "$cluster_here/../images/images.env"
DD_REGISTRY_PORT=${DD_REGISTRY##*:}
DD_REGISTRY_AUTH_PORT=${DD_REGISTRY_AUTH##*:}
DD_BRIDGE=ddcni0
DD_POD_CIDR=10.244.0.0/16
# Pods the node takes (the benchmark's 1,000-pod memory row needs DD_MAX_PODS=1100).
DD_MAX_PODS=${DD_MAX_PODS:-250}
DD_SERVICE_CIDR=10.96.0.0/24
# Client-certificate users without any rights of their own; tests bind Roles to them.
DD_TEST_USERS=(alice bob carol)

DD_CONTAINERD_SOCK="$DD_CLUSTER_DIR/run/containerd.sock"
DD_KUBECONFIG="$DD_CLUSTER_DIR/admin.kubeconfig"
DD_LOGS="$DD_CLUSTER_DIR/logs"
DD_PIDS="$DD_CLUSTER_DIR/pids"
DD_REGISTRY_DIR="$DD_CLUSTER_DIR/registry"

dd_log() { printf '[cluster] %s\n' "$*" >&2; }

# The configuration and the version of every component, as configured (binaries may not be
# built yet); printed at the start of every script that runs or builds the cluster, once per
# run: scripts that call each other (tests/run.sh -> up.sh -> build.sh) print it only once.
dd_deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
dd_versions() {
  [ "${DD_VERSIONS_SHOWN:-}" = "$DD_CONFIG" ] && return 0
  export DD_VERSIONS_SHOWN=$DD_CONFIG
  dd_log "configuration $DD_CONFIG ($(basename "$dd_config_file")), state in $DD_CLUSTER_DIR"
  dd_log "  kubernetes   $K8S_VERSION (Go module k8s.io/kubernetes)"
  dd_log "  etcd         $ETCD_VERSION (Go module go.etcd.io/etcd/server/v3)"
  if [ "$CONTAINERD_VERSION" = debian ]; then
    dd_log "  containerd   $(dd_deb_version containerd) (Debian)"
  else
    dd_log "  containerd   $CONTAINERD_VERSION (Go module github.com/containerd/containerd/v2)"
  fi
  if [ "$RUNC_VERSION" = debian ]; then
    dd_log "  runc         $(dd_deb_version runc) (Debian)"
  else
    dd_log "  runc         $RUNC_VERSION (Go module github.com/opencontainers/runc)"
  fi
  dd_log "  CNI plugins  $(dd_deb_version containernetworking-plugins) (Debian)"
  dd_log "  registry     $REGISTRY_VERSION (Go module github.com/distribution/distribution/v3)"
  dd_log "  crictl       $CRICTL_VERSION (Go module sigs.k8s.io/cri-tools)"
}

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

# Who listens on a TCP port, as 'pid N: its command line' (which names its cluster directory),
# or nothing when no one does. The cluster's ports are fixed: a listener there that is not
# ours is another test cluster.
dd_listener() {
  local line pid
  line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -n 1)
  [ -n "$line" ] || return 0
  pid=$(sed -n 's/.*users:(("[^"]*",pid=\([0-9]*\).*/\1/p' <<<"$line")
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-160)"
  else
    echo "unknown process"
  fi
}

# What is left of a test cluster on this machine, of any configuration: listeners on the fixed
# ports (the registries' included), the bridge, processes in the kubepods cgroups, containerd shims. Empty after down.sh.
dd_leftovers() {
  local port holder procs
  for port in "$DD_ETCD_PORT" "$DD_APISERVER_PORT" 10250 "$DD_REGISTRY_PORT" "$DD_REGISTRY_AUTH_PORT"; do
    holder=$(dd_listener "$port")
    [ -z "$holder" ] || printf 'port %s (%s); ' "$port" "$holder"
  done
  if ip link show "$DD_BRIDGE" >/dev/null 2>&1; then printf 'bridge %s; ' "$DD_BRIDGE"; fi
  procs=$(find /sys/fs/cgroup/*/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ')
  [ -z "$procs" ] || printf 'processes in kubepods cgroups: %s; ' "$procs"
  procs=$(pgrep -f 'containerd-shim.* -address .*/run/containerd\.sock' | tr '\n' ' ')
  [ -z "$procs" ] || printf 'containerd shims: %s; ' "$procs"
  return 0
}

dd_pid_alive() {
  local f="$DD_PIDS/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Starting and stopping clusters one at a time, machine-wide: two starts at once (two test runs,
# or a test run and a benchmark) would each start daemons over the other's and leave strays.
# Re-runs the calling script under an exclusive lock on /var/tmp/dd-cluster.lock; the lock is
# held by flock(1) itself (-o), never by the daemons the script starts. Nested calls (up.sh runs
# down.sh) already hold it.
dd_serialize() { # "$0" "$@"
  [ -n "${DD_CLUSTER_LOCKED:-}" ] && return 0
  export DD_CLUSTER_LOCKED=1
  exec flock -o /var/tmp/dd-cluster.lock "$@"
}
