#!/usr/bin/env bash
# Benchmark: kubectl distroless-debug against kubectl debug (built from the cluster's Kubernetes
# version) on the local real cluster. Builds the release plugin and the benchmark, starts the
# local cluster or reuses a running one, runs the benchmark and prints the table.
#
#   tests/bench/run.sh            smoke run: 2 runs each, N = 1 and 3 (about a minute)
#   tests/bench/run.sh --full     the real run; also writes target/bench-results.md
#   tests/bench/run.sh --full --runs 5 --sizes 1,10 --rows 1,4 --out FILE
#   DD_BENCH_PLUGIN=path/to/kubectl-distroless_debug tests/bench/run.sh   another build
#   DD_CONFIG=latest tests/bench/run.sh   on another cluster configuration (tests/cluster/versions.env)
#
# A cluster this script started is stopped at the end (DD_KEEP_CLUSTER=1 keeps it); a cluster
# that was already running is left running. Needs root (the kubelet), like tests/run.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh
dd_versions

echo "== build (release)" >&2
exe=$(cargo test --release --locked --features e2e --test bench --no-run 2>&1 |
  tee /dev/stderr | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -n 1)
[ -x "$exe" ] || { echo "error: the benchmark executable was not found" >&2; exit 1; }
# The plugin as users get it (no test features); built last so the release directory (of
# CARGO_TARGET_DIR when set) holds this one.
cargo build --release --locked

was_running=0
if dd_pid_alive kube-apiserver && dd_pid_alive kubelet && [ -f "$DD_KUBECONFIG" ] &&
  dd_kubectl get --raw /readyz >/dev/null 2>&1; then
  was_running=1
fi
echo "== local cluster" >&2
cleanup() {
  local rc=$?
  if [ "$was_running" = 0 ] && [ "${DD_KEEP_CLUSTER:-0}" != 1 ]; then
    tests/cluster/down.sh || true
  fi
  exit $rc
}
trap cleanup EXIT
kubeconfig=$(tests/cluster/up.sh)

# shellcheck source=tests/images/images.env
. tests/images/images.env
export DD_KUBECONFIG="$kubeconfig" DD_CLUSTER_DIR K8S_BIN DD_TOOLBOX_IMAGE DD_TARGET_IMAGE
# Row 12 pulls the big toolbox from the test registry, removed from the node between runs.
export DD_REGISTRY_BIG_IMAGE DD_CONTAINERD_SOCK DD_CRICTL="$CRICTL_BIN/crictl"
export DD_BENCH_PLUGIN="${DD_BENCH_PLUGIN:-${CARGO_TARGET_DIR:-$root/target}/release/kubectl-distroless_debug}"
echo "== benchmark (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$exe" "$@"
