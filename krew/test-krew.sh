#!/usr/bin/env bash
# Checks the krew manifest and archive with krew's own tools, built from the Go module
# sigs.k8s.io/krew (krew/build-krew.sh), entirely offline:
#
#   1. the committed krew/distroless-debug.yaml passes validate-krew-manifest (structure)
#   2. the template rendered for all five platforms passes validate-krew-manifest (structure)
#   3. a manifest for the local archive passes validate-krew-manifest with its install step,
#      the archive served from a local HTTP server (download, sha256, LICENSE extracted)
#   4. `kubectl krew install --manifest=… --archive=…` installs the local archive into a
#      temporary KREW_ROOT with no network at all, and clones no index
#   5. kubectl's plugin discovery finds the plugin in $KREW_ROOT/bin (`kubectl plugin list`)
#   6. `kubectl distroless-debug --version` and `--help` run through kubectl, and kubectl's
#      plugin completion runs the installed kubectl_complete-distroless_debug
#   7. `kubectl krew list` shows it and `kubectl krew uninstall` removes it again
#
#   krew/test-krew.sh                  builds the archive (krew/build-archive.sh) and tests it
#   ARCHIVE=dist/x.tar.gz krew/test-krew.sh   tests an archive built before
#
# One line per check ("ok - …" or "FAIL - …" with the output), exit status 1 on any failure.
# kubectl is the test cluster's ($DD_CACHE/k8s-$K8S_VERSION/bin/kubectl, built by
# tests/cluster/build.sh when missing); KUBECTL overrides it. Needs python3 (HTTP server).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=tests/cluster/versions.env
. tests/cluster/versions.env
cache=${DD_CACHE:-$HOME/.cache/distroless-debug}

failures=0
ok() { echo "ok - $*"; }
fail() { # message [output file]
  echo "FAIL - $1"
  [ -z "${2:-}" ] || tail -n 30 "$2" | sed 's/^/    /'
  failures=$((failures + 1))
}
fatal() { fail "$@"; echo "krew tests: stopped after a failed prerequisite"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dd-krew-test.XXXXXX")
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/log

# --- tools and archive ----------------------------------------------------------------------
krew_bin=$(krew/build-krew.sh 2>"$log") || fatal "build krew tools (krew/build-krew.sh)" "$log"
ok "krew tools $(cat "$krew_bin/../version") in $krew_bin"

kubectl=${KUBECTL:-$cache/k8s-$K8S_VERSION/bin/kubectl}
if [ ! -x "$kubectl" ] && [ -z "${KUBECTL:-}" ]; then
  tests/cluster/build.sh >"$log" 2>&1 || fatal "build kubectl $K8S_VERSION (tests/cluster/build.sh)" "$log"
fi
[ -x "$kubectl" ] || fatal "kubectl not found at $kubectl"

if [ -n "${ARCHIVE:-}" ]; then
  archive=$ARCHIVE
else
  archive=$(krew/build-archive.sh 2>"$log") || fatal "build the archive (krew/build-archive.sh)" "$log"
fi
if [ ! -f "$archive" ] || [ ! -f "$archive.sha256" ]; then
  fatal "archive $archive or its .sha256 missing"
fi
dist=$(cd "$(dirname "$archive")" && pwd)
name=$(basename "$archive")
[[ $name =~ ^kubectl-distroless_debug_(.+)_linux_amd64\.tar\.gz$ ]] ||
  fatal "expected a linux_amd64 .tar.gz archive, got $name"
version=${BASH_REMATCH[1]}
sha=$(cut -d' ' -f1 "$archive.sha256")
ok "archive $name (sha256 $sha)"

validate() { "$krew_bin/validate-krew-manifest" -manifest "$@"; }
# A PATH with kubectl, kubectl-krew and nothing else that could hold a plugin.
base_path="$krew_bin:$(dirname "$kubectl"):/usr/bin:/bin"

# --- 1. committed manifest ------------------------------------------------------------------
if validate krew/distroless-debug.yaml -skip-install >"$log" 2>&1; then
  ok "validate-krew-manifest krew/distroless-debug.yaml"
else
  fail "validate-krew-manifest krew/distroless-debug.yaml" "$log"
fi

# --- 2. template, all platforms -------------------------------------------------------------
# Stand-in checksums for the platforms built only by the release workflow: this check is
# about the template's structure (selectors, files, bin names).
mkdir -p "$work/all" "$work/m2"
for p in linux_amd64.tar.gz linux_arm64.tar.gz darwin_amd64.tar.gz darwin_arm64.tar.gz windows_amd64.zip; do
  echo "$sha  kubectl-distroless_debug_${version}_$p" >"$work/all/kubectl-distroless_debug_${version}_$p.sha256"
done
if krew/render-manifest.sh "$version" "$work/all" >"$work/m2/distroless-debug.yaml" 2>"$log" &&
  validate "$work/m2/distroless-debug.yaml" -skip-install >"$log" 2>&1 &&
  [ "$(grep -c '^  - selector:' "$work/m2/distroless-debug.yaml")" = 5 ]; then
  ok "template rendered for 5 platforms passes validate-krew-manifest"
else
  fail "template rendered for 5 platforms passes validate-krew-manifest" "$log"
fi

# --- 3. full validation, archive served locally ---------------------------------------------
cat >"$work/serve.py" <<'PY'
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
with open(sys.argv[2], "w") as f:
    f.write(str(httpd.server_port))
httpd.serve_forever()
PY
mkdir -p "$work/m3"
python3 "$work/serve.py" "$dist" "$work/port" 2>"$work/http.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
if [ -s "$work/port" ] &&
  KREW_URI_BASE="http://127.0.0.1:$(cat "$work/port")" \
    krew/render-manifest.sh --available "$version" "$dist" >"$work/m3/distroless-debug.yaml" 2>"$log" &&
  PATH="$base_path" TMPDIR="$work" validate "$work/m3/distroless-debug.yaml" >"$log" 2>&1; then
  ok "validate-krew-manifest with install (download over local HTTP, sha256, LICENSE)"
else
  fail "validate-krew-manifest with install (download over local HTTP, sha256, LICENSE)" "$log"
fi
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=

# --- 4. offline install ---------------------------------------------------------------------
# The manifest as released (GitHub URI), the archive given locally. No network: a network
# namespace of its own when possible (root), and in any case a proxy that refuses, so any
# attempt to reach GitHub (index clone, download, upgrade check) fails the install.
mkdir -p "$work/m4"
krew/render-manifest.sh --available "$version" "$dist" >"$work/m4/distroless-debug.yaml"
export KREW_ROOT="$work/krew-root" KREW_NO_UPGRADE_CHECK=1
export KREW_DEFAULT_INDEX_URI="file://$work/no-index"
offline=(env HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= no_proxy=)
offline_how="refusing proxy"
if unshare --net true 2>/dev/null; then
  offline=(unshare --net "${offline[@]}")
  offline_how="no network namespace access, refusing proxy"
fi
run_kubectl() { PATH="$KREW_ROOT/bin:$base_path" TMPDIR="$work" "${offline[@]}" "$kubectl" "$@"; }
if run_kubectl krew install --manifest="$work/m4/distroless-debug.yaml" --archive="$archive" \
  </dev/null >"$log" 2>&1; then
  if [ -e "$KREW_ROOT/index/default" ] && [ -n "$(ls -A "$KREW_ROOT/index/default")" ]; then
    fail "kubectl krew install --manifest --archive: cloned an index" "$log"
  elif [ ! -f "$KREW_ROOT/receipts/distroless-debug.yaml" ] ||
    [ ! -L "$KREW_ROOT/bin/kubectl-distroless_debug" ]; then
    fail "kubectl krew install --manifest --archive: no receipt or no bin link" "$log"
  else
    ok "kubectl krew install --manifest --archive (offline: $offline_how; no index cloned)"
  fi
else
  fatal "kubectl krew install --manifest --archive (offline)" "$log"
fi

# --- 5. plugin discovery --------------------------------------------------------------------
if run_kubectl plugin list >"$log" 2>&1 &&
  grep -qx "$KREW_ROOT/bin/kubectl-distroless_debug" "$log"; then
  ok "kubectl plugin list finds \$KREW_ROOT/bin/kubectl-distroless_debug"
else
  fail "kubectl plugin list finds \$KREW_ROOT/bin/kubectl-distroless_debug" "$log"
fi

# --- 6. run through kubectl -----------------------------------------------------------------
if run_kubectl distroless-debug --version >"$log" 2>&1 &&
  grep -qx "kubectl distroless-debug $version" "$log"; then
  ok "kubectl distroless-debug --version: $(head -n1 "$log")"
else
  fail "kubectl distroless-debug --version prints 'kubectl distroless-debug $version'" "$log"
fi
if run_kubectl distroless-debug --help >"$log" 2>&1 &&
  grep -q '^Usage: kubectl distroless-debug' "$log"; then
  ok "kubectl distroless-debug --help"
else
  fail "kubectl distroless-debug --help prints its usage" "$log"
fi

# --- 6b. completion through kubectl ------------------------------------------------------
# krew installs kubectl_complete-distroless_debug into the plugin's store directory but links
# only the plugin; linked as the docs say, kubectl (>= 1.26) runs it for plugin completion.
comp=$(ls "$KREW_ROOT"/store/distroless-debug/v*/kubectl_complete-distroless_debug 2>/dev/null | head -n1)
if [ -n "$comp" ] && [ -x "$comp" ] && ln -s "$comp" "$KREW_ROOT/bin/" &&
  run_kubectl __complete distroless-debug --profile net >"$log" 2>/dev/null &&
  [ "$(cat "$log")" = "$(printf 'netadmin\n:4')" ]; then
  ok "kubectl __complete distroless-debug --profile net: netadmin (kubectl_complete-distroless_debug)"
else
  fail "kubectl __complete distroless-debug --profile net completes netadmin" "$log"
fi
rm -f "$KREW_ROOT/bin/kubectl_complete-distroless_debug"

# --- 7. list and uninstall ------------------------------------------------------------------
# `krew list` and `krew uninstall` insist on an initialized index. Offline, that is a local
# git repository as the default index (KREW_DEFAULT_INDEX_URI), cloned by `krew update`.
git init -q "$work/no-index"
mkdir -p "$work/no-index/plugins"
touch "$work/no-index/plugins/.keep"
git -C "$work/no-index" add plugins/.keep
git -C "$work/no-index" -c user.name=test -c user.email=test@localhost \
  commit -q -m "empty krew index"
if run_kubectl krew update >"$log" 2>&1 &&
  run_kubectl krew list >"$log" 2>&1 && grep -Eq '^(detached/)?distroless-debug$' "$log"; then
  ok "kubectl krew list shows distroless-debug (index cloned from a local repository)"
else
  fail "kubectl krew list shows distroless-debug" "$log"
fi
if run_kubectl krew uninstall distroless-debug >"$log" 2>&1 &&
  [ ! -e "$KREW_ROOT/bin/kubectl-distroless_debug" ] &&
  [ ! -e "$KREW_ROOT/receipts/distroless-debug.yaml" ]; then
  ok "kubectl krew uninstall distroless-debug"
else
  fail "kubectl krew uninstall distroless-debug" "$log"
fi

if [ "$failures" -gt 0 ]; then
  echo "krew tests: $failures failed"
  exit 1
fi
echo "krew tests: all passed"
