#!/usr/bin/env bash
# Builds the test cluster's container images as docker-archive tarballs, without a registry or
# a Docker engine: each root filesystem is assembled in a directory, turned into an OCI layout
# with umoci, and converted with skopeo. References are in images.env.
#
#   pause    static C program (pause/pause.c), the pod sandbox image
#   toolbox  busybox-static with every applet link, strace, tcpdump and iproute2's ss with the
#            shared libraries ldd lists plus the dynamic loader, /tmp, /etc/passwd and group.
#            ss is there because Debian's busybox netstat has no -p (no owning process).
#   target   FROM scratch: one static Go binary (target/), its config file, passwd/group;
#            runs as 65532:65532
#
# The output is cached by a hash of every input (these sources, the host binaries copied into
# the toolbox, the tool versions) in $DD_CACHE/images/<hash>/, so a second run only prints the
# result. stdout is the output directory (one line); the list of archives goes to stderr and
# to <dir>/images.txt as "REFERENCE FILE" lines. $DD_CACHE/images/current links the last build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/images/images.env
. "$here/images.env"

cache=${DD_CACHE:-$HOME/.cache/distroless-debug}/images
# Fixed timestamp for files, layers and image configs, so equal inputs give equal images.
epoch=0
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

log() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (file ownership in the images is taken from the rootfs)"
for tool in umoci skopeo musl-gcc go busybox strace ss tcpdump ldd flock sha256sum; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (apt-get install umoci skopeo musl-tools busybox-static strace iproute2 tcpdump, and Go)"
done
busybox_bin=/bin/busybox
[ -x "$busybox_bin" ] || busybox_bin=$(command -v busybox)
! ldd "$busybox_bin" >/dev/null 2>&1 || die "$busybox_bin is not static (apt-get install busybox-static)"
strace_bin=$(readlink -f "$(command -v strace)")
ss_bin=$(readlink -f "$(command -v ss)")
tcpdump_bin=$(readlink -f "$(command -v tcpdump)")

# Shared libraries of a dynamic binary, one absolute path a line, as ldd resolves them; the
# dynamic loader (the line without "=>") included, linux-vdso left out.
libs_of() {
  ldd "$1" | awk -v bin="$1" '
    /not found/ { print "missing library for " bin ": " $1 > "/dev/stderr"; exit 1 }
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }'
}
strace_libs=$(libs_of "$strace_bin")
ss_libs=$(libs_of "$ss_bin")
tcpdump_libs=$(libs_of "$tcpdump_bin")

# --- cache key ------------------------------------------------------------------------------
inputs_hash() {
  (
    cd "$here"
    find build.sh images.env pause target toolbox -type f ! -name '*~' | LC_ALL=C sort |
      xargs sha256sum
    # Host files copied into the toolbox, by content.
    # shellcheck disable=SC2086
    sha256sum "$busybox_bin" "$strace_bin" "$ss_bin" "$tcpdump_bin" \
      $(readlink -f $strace_libs $ss_libs $tcpdump_libs | sort -u)
    echo "$strace_libs" "$ss_libs" "$tcpdump_libs"
    "$busybox_bin" --list-full | LC_ALL=C sort
    umoci --version
    skopeo --version
    go version
    musl-gcc --version 2>/dev/null | head -n1
  ) | sha256sum | cut -c1-16
}
key=$(inputs_hash)
out="$cache/$key"

report() {
  local ref file
  while read -r ref file; do
    log "$ref -> $out/$file ($(du -h "$out/$file" | cut -f1))"
  done <"$out/images.txt"
  ln -sfn "$key" "$cache/current"
  echo "$out"
}

mkdir -p "$cache"
if [ -f "$out/.complete" ]; then
  log "cached in $out"
  report
  exit 0
fi

# One build at a time per cache directory; whoever waited finds the finished result.
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
  log "cached in $out"
  report
  exit 0
fi

log "building into $out"
work=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

# Puts a file into a root filesystem at the same path, following symlinks on the host.
copy_in() { # rootfs path [mode]
  install -D -m "${3:-0755}" "$(readlink -f "$2")" "$1$2"
}

# Turns a root filesystem directory into a docker-archive tarball. Extra arguments are passed
# to `umoci config` (entrypoint, user, env, ...).
package() { # name ref rootfs [umoci config args...]
  local name=$1 ref=$2 rootfs=$3
  shift 3
  local oci="$work/oci-$name" bundle="$work/bundle-$name" tag=${ref##*:}
  umoci init --layout "$oci"
  umoci new --image "$oci:$tag"
  # unpack + repack rather than `umoci insert`: umoci 0.4.7's insert writes a layer tar
  # without its final padding and end-of-archive blocks.
  umoci unpack --image "$oci:$tag" "$bundle"
  cp -a "$rootfs/." "$bundle/rootfs/"
  # Deterministic layer: fixed mtimes (ownership and modes are set by the caller).
  find "$bundle/rootfs" -exec touch -h -d "@$epoch" {} +
  umoci repack --image "$oci:$tag" --history.created "$created" \
    --history.created_by "tests/images/build.sh: $name root filesystem" "$bundle"
  umoci config --image "$oci:$tag" --no-history --created "$created" \
    --architecture amd64 --os linux "$@"
  umoci gc --layout "$oci"
  skopeo --insecure-policy copy --quiet "oci:$oci:$tag" "docker-archive:$work/out/$name.tar:$ref"
  echo "$ref $name.tar" >>"$work/out/images.txt"
}

# --- pause ----------------------------------------------------------------------------------
root="$work/rootfs-pause"
mkdir -p "$root"
musl-gcc -static -Os -Wall -o "$root/pause" "$here/pause/pause.c"
strip "$root/pause"
chown -R 0:0 "$root"
chmod 0755 "$root" "$root/pause"
package pause "$DD_PAUSE_IMAGE" "$root" \
  --config.entrypoint /pause --config.user 65535:65535 --config.workingdir /

# --- toolbox --------------------------------------------------------------------------------
root="$work/rootfs-toolbox"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp}
install -m 0755 "$busybox_bin" "$root/bin/busybox"
"$busybox_bin" --list-full | while read -r applet; do
  case $applet in bin/busybox | linuxrc) continue ;; esac
  mkdir -p "$root/$(dirname "$applet")"
  ln -sfn /bin/busybox "$root/$applet"
done
install -m 0755 "$strace_bin" "$root/usr/bin/strace"
install -m 0755 "$ss_bin" "$root/usr/bin/ss"
install -m 0755 "$tcpdump_bin" "$root/usr/bin/tcpdump"
for lib in $(printf '%s\n' $strace_libs $ss_libs $tcpdump_libs | sort -u); do copy_in "$root" "$lib"; done
install -m 0644 "$here/toolbox/etc/passwd" "$here/toolbox/etc/group" "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"
package toolbox "$DD_TOOLBOX_IMAGE" "$root" \
  --config.entrypoint /bin/sh --config.workingdir / --config.user 0:0 \
  --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin

# --- target ---------------------------------------------------------------------------------
root="$work/rootfs-target"
mkdir -p "$root/etc/target"
(
  cd "$here/target"
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS= GOTOOLCHAIN=local \
    go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$root/target" .
)
install -m 0644 "$here/target/etc/config.yaml" "$root/etc/target/config.yaml"
install -m 0644 "$here/target/etc/passwd" "$here/target/etc/group" "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root" "$root/target"
package target "$DD_TARGET_IMAGE" "$root" \
  --config.entrypoint /target --config.user 65532:65532 --config.workingdir / \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.env TARGET_MODE=distroless --config.env TARGET_GREETING=hello \
  --config.exposedports 8080/tcp

touch "$work/out/.complete"
rm -rf "$out"
mv "$work/out" "$out"
report
