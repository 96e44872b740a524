#!/usr/bin/env bash
# One command for a first look: starts the local cluster (building what it needs), deploys a
# distroless demo workload and opens `kubectl distroless-debug` into it. Needs root.
# DD_CONFIG picks the cluster configuration (tests/cluster/versions.env; default stable).
# The cluster keeps running afterwards; stop it with tests/cluster/down.sh (same DD_CONFIG).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh
dd_versions

tests/cluster/install-deps.sh
cargo build --release --locked >&2
bin_dir=${CARGO_TARGET_DIR:-$root/target}/release
kubeconfig=$(tests/cluster/up.sh)
# shellcheck source=tests/images/images.env
. tests/images/images.env

"$K8S_BIN/kubectl" --kubeconfig "$kubeconfig" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      terminationGracePeriodSeconds: 1
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}
      containers:
      - name: api
        image: $DD_TARGET_IMAGE
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
YAML
"$K8S_BIN/kubectl" --kubeconfig "$kubeconfig" -n demo rollout status deploy/api --timeout=120s >&2

cat >&2 <<TXT

The cluster (configuration $DD_CONFIG) runs; stop it with DD_CONFIG=$DD_CONFIG tests/cluster/down.sh.
To use it from another shell:
  export KUBECONFIG=$kubeconfig PATH=$bin_dir:$K8S_BIN:\$PATH
  export KUBECTL_DISTROLESS_DEBUG_IMAGE=$DD_TOOLBOX_IMAGE
  kubectl distroless-debug -n demo deploy/api

Opening a session into deploy/api (try: ps; cat \$TARGET_ROOT/etc/target/config.yaml;
wget -qO- 127.0.0.1:9090; exit):
TXT
export KUBECONFIG="$kubeconfig" PATH="$bin_dir:$K8S_BIN:$PATH"
export KUBECTL_DISTROLESS_DEBUG_IMAGE="$DD_TOOLBOX_IMAGE"
exec kubectl distroless-debug -n demo deploy/api
