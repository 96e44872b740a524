#!/usr/bin/env bash
# Starts a real single-node Kubernetes on loopback: etcd, containerd + runc + CNI bridge,
# kube-apiserver (RBAC, Node authorization, PodSecurity), controller-manager, scheduler and a
# kubelet. Idempotent: a healthy running cluster is left as it is. Prints the admin kubeconfig
# path on stdout; everything else goes to stderr. Ready means the node is Ready and a test pod
# runs. Needs root. Stop it with down.sh. DD_CONFIG picks the configuration (versions.env);
# only one cluster, of any configuration, can run on a machine at a time (fixed ports, the
# bridge, the kubepods cgroups).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"
dd_versions

[ "$(id -u)" = 0 ] || { echo "error: the test cluster needs root" >&2; exit 1; }
dd_serialize "$0" "$@"

started=$SECONDS
on_error() {
  local rc=$?
  dd_log "cluster start FAILED (exit $rc); component logs:"
  dd_dump_logs
  exit "$rc"
}
trap on_error ERR

apiserver_healthy() {
  [ -f "$DD_KUBECONFIG" ] && dd_kubectl get --raw /readyz >/dev/null 2>&1
}
# A registry answers its API's base endpoint over TLS with the cluster's CA: 200, or 401 behind
# auth.
registry_answers() { # port
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$DD_CLUSTER_DIR/pki/ca.crt" \
    "https://127.0.0.1:$1/v2/") || return 1
  [ "$code" = 200 ] || [ "$code" = 401 ]
}
registries_healthy() {
  dd_pid_alive registry && dd_pid_alive registry-auth &&
    registry_answers "$DD_REGISTRY_PORT" && registry_answers "$DD_REGISTRY_AUTH_PORT"
}

if dd_pid_alive kubelet && dd_pid_alive kube-apiserver && apiserver_healthy && registries_healthy; then
  dd_log "already running"
  echo "$DD_KUBECONFIG"
  exit 0
fi
# Anything half-started from an earlier run goes first.
"$here/down.sh" >/dev/null 2>&1 || true
# Another cluster (another configuration, or another cluster directory) holds the ports, the
# bridge and the kubepods cgroups: starting beside it would break both. Say which one it is.
for port in "$DD_ETCD_PORT" "$DD_APISERVER_PORT" 10250 "$DD_REGISTRY_PORT" "$DD_REGISTRY_AUTH_PORT"; do
  holder=$(dd_listener "$port")
  if [ -n "$holder" ]; then
    dd_log "error: port $port is in use ($holder): another test cluster runs; stop it with" \
      "DD_CONFIG=<its configuration> tests/cluster/down.sh"
    exit 1
  fi
done

"$here/build.sh" >&2
images_dir=$("$here/../images/build.sh")
big_image_layout=$("$here/../images/big.sh" "$images_dir")
# shellcheck source=tests/images/images.env
. "$here/../images/images.env"

[ -x "$ETCD_BIN/etcd" ] || { echo "error: $ETCD_BIN/etcd is missing; run tests/cluster/build.sh" >&2; exit 1; }
[ -x "$REGISTRY_BIN/registry" ] || { echo "error: $REGISTRY_BIN/registry is missing; run tests/cluster/build.sh" >&2; exit 1; }
for tool in containerd containerd-shim-runc-v2 runc openssl ctr iptables skopeo htpasswd; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing; run tests/cluster/install-deps.sh" >&2
    exit 1
  }
done
[ -x "$DD_CNI_BIN/bridge" ] || { echo "error: CNI plugins missing; run tests/cluster/install-deps.sh" >&2; exit 1; }
# "containerd github.com/containerd/containerd/v2 v2.4.2 …" or "… containerd 1.6.20~ds1 …"
containerd_version=$(containerd --version | awk '{ print $3 }')
containerd_major=${containerd_version#v}
containerd_major=${containerd_major%%.*}
runc_path=$(command -v runc)
dd_log "binaries: containerd $containerd_version ($(command -v containerd)), runc" \
  "$(runc --version | sed -n 's/^runc version //p') ($runc_path)"

mkdir -p "$DD_CLUSTER_DIR"/{pki,etcd,run,containerd,kubelet,cni/net.d,cni/ipam,logs,pids,registry}
# containerd 2 migrates the metadata database of a root it opens to its own schema version,
# which 1.6 was not written for: a root belongs to one containerd major version. Configurations have cluster directories
# of their own; this catches a DD_CLUSTER_DIR shared by hand.
root_stamp="$DD_CLUSTER_DIR/containerd/major-version"
if [ -f "$root_stamp" ] && [ "$(cat "$root_stamp")" != "$containerd_major" ]; then
  dd_log "error: $DD_CLUSTER_DIR/containerd was made by containerd $(cat "$root_stamp").x, this" \
    "configuration runs $containerd_version: use another DD_CLUSTER_DIR, or down.sh --purge"
  exit 1
fi
echo "$containerd_major" >"$root_stamp"
# Logs of this start only: the previous start's logs are kept one generation.
rm -rf "$DD_LOGS.previous" && mv "$DD_LOGS" "$DD_LOGS.previous" && mkdir -p "$DD_LOGS"
chmod 700 "$DD_CLUSTER_DIR"

# ---------------------------------------------------------------------------------------------
# PKI: one CA signs every serving and client certificate; the service-account key pair signs
# tokens. Made once per cluster directory.
pki="$DD_CLUSTER_DIR/pki"
cert() { # name, subject, extensions (client|server with SANs)
  local name=$1 subj=$2 ext=$3
  [ -f "$pki/$name.crt" ] && return 0
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 365 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
server_ext() { printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"; }

if [ ! -f "$pki/ca.crt" ]; then
  openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=distroless-debug-test-ca" -days 365 \
    -out "$pki/ca.crt" 2>/dev/null
fi
[ -f "$pki/sa.key" ] || {
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}
cert apiserver "/CN=kube-apiserver" \
  "$(server_ext "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc")"
cert kubelet "/CN=$DD_NODE_NAME" "$(server_ext "IP:127.0.0.1,DNS:localhost,DNS:$DD_NODE_NAME")"
# etcd's own gRPC gateway connects to etcd with the serving certificate, so that one is a
# client certificate too (without, etcd logs "incompatible key usage" for itself every few
# seconds). Cluster directories made before have a server-only one: it is made again.
if [ -f "$pki/etcd.crt" ] &&
  ! openssl x509 -in "$pki/etcd.crt" -noout -ext extendedKeyUsage 2>/dev/null | grep -q 'Client Authentication'; then
  rm -f "$pki/etcd.crt" "$pki/etcd.key"
fi
cert etcd "/CN=etcd" "$(server_ext "IP:127.0.0.1,DNS:localhost" | sed 's/=serverAuth$/=serverAuth,clientAuth/')"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client_ext"
cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" "$client_ext"
cert admin "/O=system:masters/CN=dd-admin" "$client_ext"
cert controller-manager "/CN=system:kube-controller-manager" "$client_ext"
cert scheduler "/CN=system:kube-scheduler" "$client_ext"
cert node "/O=system:nodes/CN=system:node:$DD_NODE_NAME" "$client_ext"
for u in "${DD_TEST_USERS[@]}"; do cert "user-$u" "/CN=$u" "$client_ext"; done
cert registry "/CN=distroless-debug-registry" "$(server_ext "IP:127.0.0.1")"
chmod 600 "$pki"/*.key

server="https://127.0.0.1:$DD_APISERVER_PORT"
kubeconfig() { # file, user name, cert name
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: dd
  cluster:
    server: $server
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $pki/$3.crt
    client-key: $pki/$3.key
contexts:
- name: dd-$2
  context: {cluster: dd, user: $2, namespace: default}
current-context: dd-$2
YAML
  chmod 600 "$1"
}
kubeconfig "$DD_KUBECONFIG" dd-admin admin
kubeconfig "$DD_CLUSTER_DIR/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
kubeconfig "$DD_CLUSTER_DIR/scheduler.kubeconfig" system:kube-scheduler scheduler
kubeconfig "$DD_CLUSTER_DIR/kubelet.kubeconfig" "system:node:$DD_NODE_NAME" node
for u in "${DD_TEST_USERS[@]}"; do kubeconfig "$DD_CLUSTER_DIR/$u.kubeconfig" "$u" "user-$u"; done

# ---------------------------------------------------------------------------------------------
# Host preparation, as kind's node entrypoint does: shared mount propagation for the kubelet's
# volume mounts.
mount --make-rshared /

start() { # name, command...: runs in the background, logs to logs/NAME.log, PID in pids/NAME.pid
  local name=$1
  shift
  setsid "$@" >>"$DD_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$DD_PIDS/$name.pid"
}
wait_for() { # what, seconds, command...
  local what=$1 limit=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      dd_log "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# --- etcd --------------------------------------------------------------------------------------
start etcd "$ETCD_BIN/etcd" --name dd --data-dir "$DD_CLUSTER_DIR/etcd" \
  --listen-client-urls "https://127.0.0.1:$DD_ETCD_PORT" \
  --advertise-client-urls "https://127.0.0.1:$DD_ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$DD_ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$DD_ETCD_PEER_PORT" \
  --initial-cluster "dd=http://127.0.0.1:$DD_ETCD_PEER_PORT" \
  --cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" \
  --client-cert-auth --trusted-ca-file "$pki/ca.crt" \
  --listen-metrics-urls "http://127.0.0.1:12381" \
  --unsafe-no-fsync --snapshot-count 10000
wait_for etcd 30 curl -sf http://127.0.0.1:12381/health

# --- image registries --------------------------------------------------------------------------
# Two registries of distribution's on loopback, TLS with the certificate above: one open to all
# ($DD_REGISTRY), one where every request needs the htpasswd user ($DD_REGISTRY_AUTH). Their
# storage stays across restarts (down.sh --purge removes it), so the pushes below send only
# what changed. Some test images are pushed there besides the direct import, and the big
# toolbox only there: the node pulls them.
reg=$DD_REGISTRY_DIR
mkdir -p "$reg/certs"
# skopeo's --dest-cert-dir: the CA that signs the registries' certificate.
cp "$pki/ca.crt" "$reg/certs/ca.crt"
if [ ! -f "$reg/auth.env" ] || [ ! -f "$reg/htpasswd" ]; then
  password=$(openssl rand -hex 16)
  printf '%s' "$password" | htpasswd -Bin dd-puller >"$reg/htpasswd" 2>/dev/null
  printf 'DD_REGISTRY_USER=dd-puller\nDD_REGISTRY_PASSWORD=%s\n' "$password" >"$reg/auth.env"
  chmod 600 "$reg/htpasswd" "$reg/auth.env"
fi
# shellcheck source=/dev/null
. "$reg/auth.env"
registry_config() { # name, port, auth (true|false)
  cat <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $reg/$1
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$2
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $pki/registry.crt
    key: $pki/registry.key
YAML
  if $3; then
    cat <<YAML
auth:
  htpasswd:
    realm: distroless-debug-test
    path: $reg/htpasswd
YAML
  fi
}
registry_config open "$DD_REGISTRY_PORT" false >"$reg/open.yml"
registry_config auth "$DD_REGISTRY_AUTH_PORT" true >"$reg/auth.yml"
# distribution's tracing exports to an OTLP collector by default: there is none.
start registry env OTEL_TRACES_EXPORTER=none "$REGISTRY_BIN/registry" serve "$reg/open.yml"
start registry-auth env OTEL_TRACES_EXPORTER=none "$REGISTRY_BIN/registry" serve "$reg/auth.yml"
wait_for "registry on $DD_REGISTRY" 30 registry_answers "$DD_REGISTRY_PORT"
wait_for "registry on $DD_REGISTRY_AUTH" 30 registry_answers "$DD_REGISTRY_AUTH_PORT"
push() { # source, destination reference, skopeo arguments...
  local src=$1 dest=$2
  shift 2
  dd_log "registry: pushing $dest"
  skopeo --insecure-policy copy --quiet --dest-cert-dir "$reg/certs" "$@" "$src" "docker://$dest"
}
# The toolbox goes to the registries with a label of its own in its image config, one per name:
# an image ID that no imported image shares. Kubernetes 1.35+ (KubeletEnsureSecretPulledImages)
# records which image names the kubelet pulled an image ID under, and then makes pods that use
# the ID under another name pull it again to prove access: with a shared ID, a pull of the
# registry's toolbox made every later container of the imported toolbox pull
# localhost/distroless-debug/toolbox:1, which no registry serves. Distinct IDs also let tests
# remove a registry image from the node (crictl rmi removes every name of an ID).
labeled_work=$(mktemp -d)
skopeo --insecure-policy copy --quiet "docker-archive:$images_dir/toolbox.tar" "oci:$labeled_work/oci:1"
push_labeled() { # destination reference, skopeo arguments...
  rm -rf "$labeled_work/copy" && cp -a "$labeled_work/oci" "$labeled_work/copy"
  umoci config --image "$labeled_work/copy:1" --config.label "distroless-debug.test/name=$1"
  push "oci:$labeled_work/copy:1" "$@"
}
push_labeled "$DD_REGISTRY_TOOLBOX_IMAGE"
push "oci:$big_image_layout:1" "$DD_REGISTRY_BIG_IMAGE"
for ref in "$DD_PRIVATE_TOOLBOX_IMAGE" "$DD_PRIVATE_UNPULLED_IMAGE"; do
  push_labeled "$ref" --dest-creds "$DD_REGISTRY_USER:$DD_REGISTRY_PASSWORD"
done
rm -rf "$labeled_work"

# --- containerd ----------------------------------------------------------------------------------
# The same settings for containerd 1.6 (config version 2) and 2.x (version 3, where the CRI
# plugin is split into io.containerd.cri.v1.images, io.containerd.cri.v1.runtime and the
# server part that kept the name io.containerd.grpc.v1.cri; 2.4 migrates version 3 to its
# version 4 when loading, with a warning; 2.0 reads it natively):
# - restrict_oom_score_adj: the VM withholds CAP_SYS_RESOURCE, so a negative oom_score_adj
#   (the kubelet asks -998 for sandboxes) fails in runc with "can't get final child's PID from
#   pipe". Clamp it instead.
# - the cgroupfs driver (SystemdCgroup = false): there is no systemd; containerd 2 also reports
#   it to the kubelet (the CRI RuntimeConfig call).
# - runc by its absolute path (BinaryName), the configuration's one.
# - the stream server (exec, attach, port-forward) on loopback, on a free port.
# - registry hosts from certs.d (config_path): the test registries' CA.
# One hosts file per registry (containerd's certs.d layout, read at every pull): HTTPS with the
# cluster's CA.
certs_d="$DD_CLUSTER_DIR/containerd/certs.d"
rm -rf "$certs_d"
for host in "$DD_REGISTRY" "$DD_REGISTRY_AUTH"; do
  mkdir -p "$certs_d/$host"
  cat >"$certs_d/$host/hosts.toml" <<TOML
server = "https://$host"
[host."https://$host"]
  capabilities = ["pull", "resolve"]
  ca = "$pki/ca.crt"
TOML
done
containerd_common() {
  cat <<TOML
root = "$DD_CLUSTER_DIR/containerd/root"
state = "$DD_CLUSTER_DIR/containerd/state"
[grpc]
  address = "$DD_CONTAINERD_SOCK"
[ttrpc]
  address = "$DD_CONTAINERD_SOCK.ttrpc"
[debug]
  address = "$DD_CONTAINERD_SOCK.debug"
[metrics]
  address = ""
TOML
}
if [ "$containerd_major" -ge 2 ]; then
  {
    echo "version = 3"
    containerd_common
    cat <<TOML
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$certs_d"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$DD_PAUSE_IMAGE"
[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$runc_path"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$DD_CNI_BIN"]
    conf_dir = "$DD_CLUSTER_DIR/cni/net.d"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
# NRI (on by default in 2.x) would listen on /var/run/nri, outside the cluster directory; the
# cluster uses no NRI plugin.
[plugins."io.containerd.nri.v1.nri"]
  disable = true
TOML
  } >"$DD_CLUSTER_DIR/containerd.toml"
else
  {
    echo "version = 2"
    containerd_common
    cat <<TOML
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$DD_PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$runc_path"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$DD_CNI_BIN"
    conf_dir = "$DD_CLUSTER_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$certs_d"
TOML
  } >"$DD_CLUSTER_DIR/containerd.toml"
fi
# Pods live on a bridge of ours, without a default route and without masquerading: they reach
# each other and the host's bridge address, nothing beyond.
cat >"$DD_CLUSTER_DIR/cni/net.d/10-dd.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "dd",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$DD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$DD_CLUSTER_DIR/cni/ipam",
        "ranges": [[{"subnet": "$DD_POD_CIDR"}]],
        "routes": []
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
start containerd containerd --config "$DD_CLUSTER_DIR/containerd.toml"
wait_for containerd 30 ctr --address "$DD_CONTAINERD_SOCK" version
# Images pulled from the test registries by earlier runs are removed by name before anything
# runs: the registries' images are pushed anew at each start, and a name left from a run whose
# image shared another's ID would make the registry tests' `crictl rmi` remove that image too.
for ref in $(ctr --address "$DD_CONTAINERD_SOCK" -n k8s.io images ls -q |
  grep -E "^($DD_REGISTRY|$DD_REGISTRY_AUTH)/" || true); do
  ctr --address "$DD_CONTAINERD_SOCK" -n k8s.io images rm "$ref" >/dev/null
done
"$here/../images/import.sh" "$DD_CONTAINERD_SOCK" >&2

# --- kube-apiserver ----------------------------------------------------------------------------
cat >"$DD_CLUSTER_DIR/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
YAML
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$DD_APISERVER_PORT" \
  --endpoint-reconciler-type=none \
  --etcd-servers="https://127.0.0.1:$DD_ETCD_PORT" --etcd-cafile="$pki/ca.crt" \
  --etcd-certfile="$pki/apiserver-etcd-client.crt" --etcd-keyfile="$pki/apiserver-etcd-client.key" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$pki/ca.crt" \
  --kubelet-preferred-address-types=Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$DD_SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true \
  --audit-policy-file="$DD_CLUSTER_DIR/audit-policy.yaml" \
  --audit-log-path="$DD_LOGS/audit.log" --audit-log-maxsize=200 --audit-log-maxbackup=1 \
  --profiling=false
wait_for kube-apiserver 90 dd_kubectl get --raw /readyz

# --- controller-manager and scheduler ----------------------------------------------------------
# Every controller but the node IPAM one (pods get addresses from the CNI plugin's host-local
# IPAM, not from node CIDRs), and the cloud-provider ones, which without a cloud provider only
# log warnings. Those are named only where the binary has them (its --help lists them): 1.37
# dropped them and refuses unknown names in --controllers.
kcm_controllers='*,-nodeipam'
kcm_known=$("$K8S_BIN/kube-controller-manager" --help 2>&1 | tr -s ' ,\n' '\n')
for c in cloud-node-lifecycle-controller service-lb-controller node-route-controller; do
  if grep -qxF "$c" <<<"$kcm_known"; then kcm_controllers+=",-$c"; fi
done
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$DD_CLUSTER_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$DD_CLUSTER_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$DD_CLUSTER_DIR/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range="$DD_SERVICE_CIDR" --allocate-node-cidrs=false \
  --controllers="$kcm_controllers"
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$DD_CLUSTER_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$DD_CLUSTER_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig="$DD_CLUSTER_DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

# --- kubelet -------------------------------------------------------------------------------------
cat >"$DD_CLUSTER_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
containerRuntimeEndpoint: unix://$DD_CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
resolvConf: ""
maxPods: $DD_MAX_PODS
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
YAML
# The kubelet's records of which image names it pulled each image ID under (1.35+, see the
# registries above) are from earlier runs, whose images were imported or pushed anew since: a
# start begins without them, as the node's images are imported anew.
rm -rf "$DD_CLUSTER_DIR/kubelet/image_manager"
start kubelet "$K8S_BIN/kubelet" --config="$DD_CLUSTER_DIR/kubelet.yaml" \
  --kubeconfig="$DD_CLUSTER_DIR/kubelet.kubeconfig" --root-dir="$DD_CLUSTER_DIR/kubelet" \
  --hostname-override="$DD_NODE_NAME"

node_ready() {
  [ "$(dd_kubectl get node "$DD_NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
wait_for "node $DD_NODE_NAME Ready" 120 node_ready
wait_for "default service account" 60 dd_kubectl -n default get serviceaccount default

# --- smoke pod ---------------------------------------------------------------------------------
dd_kubectl delete pod dd-smoke -n default --ignore-not-found --wait=false >/dev/null
dd_kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: dd-smoke, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: $DD_TARGET_IMAGE
    imagePullPolicy: Never
YAML
wait_for "smoke pod Running" 90 dd_kubectl -n default wait pod/dd-smoke --for=jsonpath='{.status.phase}'=Running --timeout=2s
dd_kubectl delete pod dd-smoke -n default --wait=false >/dev/null

# What runs, as the node reports it.
node_info=$(dd_kubectl get node "$DD_NODE_NAME" -o jsonpath='kubelet {.status.nodeInfo.kubeletVersion}, {.status.nodeInfo.containerRuntimeVersion}')
dd_log "ready in $((SECONDS - started))s: configuration $DD_CONFIG, Kubernetes $K8S_VERSION" \
  "($node_info), admin kubeconfig below"
echo "$DD_KUBECONFIG"
