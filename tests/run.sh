#!/usr/bin/env bash
# The whole test suite: unit, CLI transcript and fake-apiserver tests, then the end-to-end tests
# against a real local Kubernetes that this script starts (building what it needs) and always
# stops. A cluster that cannot start is a failure, never a skip. Needs root (the kubelet).
#
#   tests/run.sh                 everything
#   tests/run.sh -- e2e_name     extra arguments go to `cargo test`
#   DD_CONFIG=latest tests/run.sh -- --test e2e   the end-to-end tests on another cluster
#                                configuration (tests/cluster/versions.env; default stable)
#   DD_KEEP_CLUSTER=1 tests/run.sh   leave the cluster running afterwards (for debugging)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh
# Which cluster the results below are about: first thing in the output.
dd_versions

[ "${1:-}" = -- ] && shift

tests/cluster/install-deps.sh

echo "== build" >&2
cargo build --locked --all-targets --features e2e

echo "== start the local cluster" >&2
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then dd_dump_logs || true; fi
  if [ "${DD_KEEP_CLUSTER:-0}" != 1 ]; then tests/cluster/down.sh || true; fi
  exit $rc
}
trap cleanup EXIT
kubeconfig=$(tests/cluster/up.sh)

# shellcheck source=tests/images/images.env
. tests/images/images.env
export DD_KUBECONFIG="$kubeconfig" DD_CLUSTER_DIR K8S_BIN DD_TOOLBOX_IMAGE DD_TARGET_IMAGE \
  DD_MISSING_IMAGE DD_PAUSE_IMAGE
# The registry tests: the images pushed there (images.env), the credentials of the registry
# behind auth (DD_REGISTRY_USER, DD_REGISTRY_PASSWORD; made by up.sh), and containerd's socket
# and crictl, with which they remove an image from the node before pulling it.
set -a
# shellcheck source=/dev/null
. "$DD_REGISTRY_DIR/auth.env"
set +a
export DD_REGISTRY DD_REGISTRY_AUTH DD_REGISTRY_TOOLBOX_IMAGE DD_REGISTRY_BIG_IMAGE \
  DD_PRIVATE_TOOLBOX_IMAGE DD_PRIVATE_UNPULLED_IMAGE DD_CONTAINERD_SOCK
export DD_CRICTL="$CRICTL_BIN/crictl"
echo "== tests" >&2
# The end-to-end tests spend their time waiting on the cluster, not on the CPU: four at a time
# on two cores (cargo's default is one per core).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
cargo test --locked --features e2e "$@"

if [ $# -eq 0 ]; then
  echo "== distribution: static binary FROM scratch, krew manifest and offline krew install" >&2
  krew/test-krew.sh # builds the static archive first
  krew/test-scratch.sh
fi
