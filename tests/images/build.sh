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
#   target-root  the same root filesystem and config without a user: runs as root, as most
#            real images do
#
# Toolbox images laid out like the real images users pass as --image (README.md has the table;
# the layout ids B1..B7 are those of DD_TOOLBOXES in images.env):
#   B1 toolbox                   the image above
#   B2 toolbox-glibc-busybox     busybox:latest / busybox:glibc: Debian's dynamic glibc busybox
#                                (downloaded, not installed) at /bin/busybox, every applet a
#                                hard link in /bin, glibc libraries flat in /lib, /lib64 -> lib;
#                                plus strace and ss with their libraries in /lib
#   B3 toolbox-musl              alpine / nicolaka/netshoot: busybox built from Debian's source
#                                against musl (busybox-musl.sh), dynamic, applet symlinks, the
#                                musl loader /lib/ld-musl-x86_64.so.1; real bash, ip, ss, nc and
#                                strace (Debian's glibc builds, libraries in
#                                /lib/x86_64-linux-gnu) replace the applet links, as apk does
#   B4 toolbox-debian            debian / ubuntu: merged /usr, /bin/sh -> dash, bash, coreutils,
#                                procps, iproute2, /bin/pidof -> /sbin/killall5, netcat-openbsd
#                                behind /etc/alternatives, strace, grep, sed, findutils
#   B5 toolbox-bash              amazonlinux / UBI: merged /usr, /bin/sh -> bash, no dash,
#                                pidof a program of its own, otherwise the tools of B4
#   B6 toolbox-distroless-debug  gcr.io/distroless/base-debian12:debug: static busybox in
#                                /busybox with its applet links, no /bin, PATH ending in
#                                :/busybox, Debian's non-merged glibc (/lib/x86_64-linux-gnu,
#                                /lib64/ld-linux-x86-64.so.2 -> it), strace in /usr/bin
#   B7 toolbox-large             nicolaka/netshoot-sized: B1 plus a layer of 1,100 more programs
#                                in /usr/local/bin and /usr/bin
#
# The output is cached by a hash of every input (these sources, the host binaries copied into
# the toolboxes, the Debian busybox version, the tool versions) in $DD_CACHE/images/<hash>/, so
# a second run only prints the result. stdout is the output directory (one line); the list of
# archives goes to stderr and to <dir>/images.txt as "REFERENCE FILE" lines.
# $DD_CACHE/images/current links the last build. The first build needs Debian's repositories
# (the glibc busybox package and the busybox source); later ones need no network.
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
for tool in umoci skopeo musl-gcc go busybox strace ss tcpdump ldd flock sha256sum \
  apt-get apt-cache dpkg dpkg-deb dash bash nc ip killall5 getconf; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (run tests/cluster/install-deps.sh, and install Go)"
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

# "PROGRAM LIBRARY" lines (real paths of programs, libraries as ldd resolves them) for every
# dynamic program among the arguments, with a single ldd run: one ldd per program costs
# seconds for the few hundred programs of the toolboxes, on every run, cached or not. ldd
# names each program on a line of its own when it has several; scripts and static programs
# have no libraries ("not a dynamic executable", which also makes ldd exit 1).
ldd_pairs() {
  local files
  files=$(readlink -f "$@" | LC_ALL=C sort -u) || return 1
  # shellcheck disable=SC2086 # one path a word
  { ldd $files 2>/dev/null || true; } | awk -v prog="${files%%$'\n'*}" '
    /^[^\t].*:$/ { prog = substr($0, 1, length($0) - 1); next }
    /not found/ { print "missing library for " prog ": " $1 > "/dev/stderr"; failed = 1 }
    $2 == "=>" && $3 ~ /^\// { print prog, $3; next }
    $1 ~ /^\// { print prog, $1 }
    END { exit failed }'
}
# The libraries of the programs among the arguments, sorted, each once; every program must
# be among those ldd_pairs was given.
declare -A libs_by_prog=()
libs_of_all() {
  local f
  for f in $(readlink -f "$@"); do printf '%s' "${libs_by_prog[$f]-}"; done | LC_ALL=C sort -u
}
# The programs a Debian package installs in /bin, /sbin, /usr/bin and /usr/sbin, as it lists
# them (before the /usr merge: /bin/ls, /usr/bin/id).
pkg_programs() { dpkg -L "$@" | grep -E '^(/usr)?/s?bin/[^/]+$' | LC_ALL=C sort -u; }
# Array $1 := the output lines of the command that follows; fails when the command fails
# (which `mapfile < <(command)` would not notice).
lines() {
  local -n lines_array=$1
  local output
  shift
  output=$("$@") || return 1
  # shellcheck disable=SC2034 # a reference to the caller's array
  mapfile -t lines_array <<<"$output"
}

# --- inputs of the toolboxes B2..B7 ---------------------------------------------------------
# B2 and B3 use Debian's busybox 1.35 (B2 the binary package, B3 its source): the version the
# host's apt would install.
# (awk reads to the end: a reader that quits early would fail the pipeline with SIGPIPE.)
bb_versions=$(apt-cache show --no-all-versions busybox 2>/dev/null | awk '
  $1 == "Version:" && v == "" { v = $2 }
  $1 == "Source:" && $2 == "busybox" && s == "" { s = $3; gsub(/[()]/, "", s) }
  END { print v, (s == "" ? v : s) }') || true
read -r bb_version bb_source_version <<<"$bb_versions"
[ -n "$bb_version" ] || die "apt knows no busybox package (apt-get update)"
# The .deb is kept in the cache (by version) so that later builds need no network; apt
# verified it against the signed index when it downloaded it.
debs=${DD_CACHE:-$HOME/.cache/distroless-debug}/debs
bb_deb="$debs/busybox_${bb_version//:/%3a}_amd64.deb"
if [ ! -f "$bb_deb" ]; then
  mkdir -p "$debs"
  log "downloading busybox $bb_version (the glibc build; busybox-static stays installed)"
  # Into a directory of our own, then renamed: a parallel build never sees half a file. As
  # root into a root-owned directory, which apt's _apt user could not write.
  dl=$(mktemp -d "$debs/.download.XXXXXX")
  (cd "$dl" && apt-get -o APT::Sandbox::User=root download -qq "busybox=$bb_version") ||
    { rm -rf "$dl"; die "apt-get download busybox=$bb_version failed (outdated lists? apt-get update)"; }
  mv "$dl/${bb_deb##*/}" "$bb_deb" || { rm -rf "$dl"; die "apt-get download wrote no ${bb_deb##*/}"; }
  rm -rf "$dl"
fi
musl_loader=$(readlink -f /lib/ld-musl-x86_64.so.1)
[ -f "$musl_loader" ] || die "no musl loader at /lib/ld-musl-x86_64.so.1 (apt-get install musl)"

# B4 and B5: the programs of these packages (with netcat-openbsd's alternative /usr/bin/nc)
# and their libraries, copied at their Debian paths.
for pkg in dash bash coreutils procps iproute2 sysvinit-utils netcat-openbsd strace grep sed \
  findutils libc6 musl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
    die "package $pkg is not installed (run tests/cluster/install-deps.sh)"
done
declare -a debian_progs bash_progs libc6_libs debian_libs bash_libs musl_libs glibc_bb_libs
lines debian_progs pkg_programs dash bash coreutils procps iproute2 sysvinit-utils \
  netcat-openbsd strace grep sed findutils
lines bash_progs pkg_programs bash coreutils procps iproute2 netcat-openbsd strace grep sed \
  findutils
debian_progs+=(/usr/bin/nc)
bash_progs+=(/usr/bin/nc)
killall5_bin=$(readlink -f "$(command -v killall5)")
# B3: the real programs that replace busybox applets, Debian's glibc builds.
bash_bin=$(readlink -f "$(command -v bash)")
ip_bin=$(readlink -f "$(command -v ip)")
nc_bin=$(readlink -f /bin/nc.openbsd)
musl_progs=("$bash_bin" "$ip_bin" "$ss_bin" "$nc_bin" "$strace_bin")
# B2 and B6: glibc's own libraries (libc6), of which busybox:glibc carries libnss_* and
# libpthread and distroless base all.
libc6_libraries() {
  dpkg -L libc6 | grep -E '^(/usr)?/lib(64)?/([^/]+/)?[^/]+\.so(\.[0-9]+)*$' | LC_ALL=C sort -u
}
lines libc6_libs libc6_libraries
nss_libs=()
for lib in "${libc6_libs[@]}"; do
  case $lib in */libnss_* | */libpthread*) nss_libs+=("$lib") ;; esac
done
getconf_bin=$(readlink -f "$(command -v getconf)")
true_bin=$(readlink -f /bin/true)

pairs=$(ldd_pairs "${debian_progs[@]}" "${bash_progs[@]}" "${musl_progs[@]}" "$killall5_bin" \
  "$getconf_bin" "${nss_libs[@]}")
while read -r prog lib; do libs_by_prog[$prog]+=$lib$'\n'; done <<<"$pairs"
lines debian_libs libs_of_all "${debian_progs[@]}"
lines bash_libs libs_of_all "${bash_progs[@]}" "$killall5_bin"
lines musl_libs libs_of_all "${musl_progs[@]}"
lines glibc_bb_libs libs_of_all "$getconf_bin" "$strace_bin" "$ss_bin" "${nss_libs[@]}"

# --- cache key ------------------------------------------------------------------------------
inputs_hash() {
  (
    # A command substitution does not inherit -e: a missing input must not go unnoticed.
    set -e
    cd "$here"
    find build.sh busybox-musl.sh images.env pause target toolbox toolbox-glibc-busybox \
      toolbox-musl toolbox-debian toolbox-bash toolbox-distroless-debug -type f ! -name '*~' |
      LC_ALL=C sort | xargs sha256sum
    # Host files copied into the toolbox, by content.
    # shellcheck disable=SC2086,SC2046 # one library path a word
    sha256sum "$busybox_bin" "$strace_bin" "$ss_bin" "$tcpdump_bin" \
      $(readlink -f $strace_libs $ss_libs $tcpdump_libs | sort -u)
    echo "$strace_libs" "$ss_libs" "$tcpdump_libs"
    "$busybox_bin" --list-full | LC_ALL=C sort
    # The other toolboxes' host files: each path with its symlink target (the link shapes are
    # copied too), then every file by content.
    local all=("${debian_progs[@]}" "${bash_progs[@]}" "${musl_progs[@]}" "${libc6_libs[@]}"
      "${debian_libs[@]}" "${bash_libs[@]}" "${musl_libs[@]}" "${glibc_bb_libs[@]}"
      "$killall5_bin" "$getconf_bin" "$true_bin" "$musl_loader")
    printf '%s\n' "${all[@]}" | LC_ALL=C sort -u | xargs stat -c '%N %a'
    printf '%s\n' "${all[@]}" | xargs readlink -f | LC_ALL=C sort -u | xargs sha256sum
    echo "busybox $bb_version $bb_source_version"
    sha256sum "$bb_deb"
    dpkg-query -W -f='${Package} ${Version}\n' musl musl-dev linux-libc-dev gcc
    umoci --version
    skopeo --version
    go version
    musl-gcc --version 2>/dev/null | sed -n 1p
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

# Copies host file $2 to the same path in root filesystem $1. A symlink stays a symlink with
# the same target, and the target is copied the same way, down to the file: Debian's link
# shapes (/bin/sh -> dash, /bin/pidof -> /sbin/killall5, /usr/bin/nc -> /etc/alternatives/nc
# -> /bin/nc.openbsd, libcap.so.2 -> libcap.so.2.66) survive. Directories are those of the
# root filesystem: with its /bin -> usr/bin the file lands in /usr/bin, as on the host.
copy_host() { # rootfs path
  local root=$1 p=$2 t
  while [ -L "$p" ]; do
    t=$(readlink "$p")
    mkdir -p "$root$(dirname "$p")"
    [ -L "$root$p" ] || ln -s "$t" "$root$p"
    case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
  done
  [ -e "$root$p" ] || install -D -m "$(stat -c %a "$p")" "$p" "$root$p"
}

# A merged /usr as Debian 12, Ubuntu, Fedora and Amazon Linux have it.
merged_usr() { # rootfs
  mkdir -p "$1"/usr/{bin,sbin,lib,lib64}
  local d
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$1/$d"; done
}

# The usual small directories of an image: /etc, /root, /tmp with their modes.
base_dirs() { # rootfs
  mkdir -p "$1"/{etc,root,tmp}
  chmod 0700 "$1/root"
  chmod 1777 "$1/tmp"
}

# Turns a root filesystem directory into a docker-archive tarball. Extra arguments are passed
# to `umoci config` (entrypoint, user, env, ...).
package() { # name ref rootfs [umoci config args...]
  package_on "" "$@"
}

# The same on top of an image built before (named as in images.txt), which stays a layer of
# its own: the root filesystem directory holds only what the new layer adds.
package_on() { # base|"" name ref rootfs [umoci config args...]
  local base=$1 name=$2 ref=$3 rootfs=$4
  shift 4
  local oci="$work/oci-$name" bundle="$work/bundle-$name" tag=${ref##*:} base_ref
  if [ -z "$base" ]; then
    umoci init --layout "$oci"
    umoci new --image "$oci:$tag"
    # unpack + repack rather than `umoci insert`: umoci 0.4.7's insert writes a layer tar
    # without its final padding and end-of-archive blocks.
    umoci unpack --image "$oci:$tag" "$bundle"
  else
    base_ref=$(awk -v f="$base.tar" '$2 == f { print $1 }' "$work/out/images.txt")
    [ -n "$base_ref" ] || die "$name: base image $base is not built yet"
    cp -a "$work/oci-$base" "$oci"
    umoci unpack --image "$oci:${base_ref##*:}" "$bundle"
  fi
  cp -a "$rootfs/." "$bundle/rootfs/"
  # Deterministic layer: fixed mtimes (ownership and modes are set by the caller). A base's
  # files have these mtimes already, so its layer's files are not part of the new one.
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
# shellcheck disable=SC2086 # one library path a word
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
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS='' GOTOOLCHAIN=local \
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

# --- target-root ----------------------------------------------------------------------------
# The same files and config, no user: the runtime's default, root.
package target-root "$DD_TARGET_ROOT_IMAGE" "$root" \
  --config.entrypoint /target --config.workingdir / \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.env TARGET_MODE=distroless --config.env TARGET_GREETING=hello \
  --config.exposedports 8080/tcp

# The PATH of the official debian, ubuntu, alpine, busybox, amazonlinux and UBI images.
std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- B2 toolbox-glibc-busybox (busybox:latest, busybox:glibc) -------------------------------
# As docker-library/busybox builds it: busybox in /bin with `busybox --install /bin` (hard
# links), Debian's getconf, the libraries ldd names copied flat into /lib under their
# sonames, /lib64 -> lib for the loader's path, libnss_* and libpthread, and
# /usr/bin/env -> ../../bin/env. strace and ss (Debian's busybox netstat has no -p) are added
# in /usr/bin, their libraries in /lib too.
root="$work/rootfs-toolbox-glibc-busybox"
base_dirs "$root"
mkdir -p "$root"/{bin,lib,usr/bin}
dpkg-deb -x "$bb_deb" "$work/busybox-deb"
glibc_bb=$work/busybox-deb/bin/busybox
ldd "$glibc_bb" >/dev/null 2>&1 || die "Debian's busybox package is not dynamic"
install -m 0755 "$glibc_bb" "$root/bin/busybox"
"$glibc_bb" --list | while read -r applet; do
  [ "$applet" = busybox ] || ln "$root/bin/busybox" "$root/bin/$applet"
done
install -m 0755 "$getconf_bin" "$root/bin/getconf"
install -m 0755 "$strace_bin" "$root/usr/bin/strace"
install -m 0755 "$ss_bin" "$root/usr/bin/ss"
ln -s lib "$root/lib64"
ln -s ../../bin/env "$root/usr/bin/env"
for lib in $( (libs_of "$glibc_bb"; printf '%s\n' "${glibc_bb_libs[@]}") | LC_ALL=C sort -u); do
  [ -e "$root/lib/${lib##*/}" ] || install -m 0755 "$(readlink -f "$lib")" "$root/lib/${lib##*/}"
done
install -m 0644 "$here"/toolbox-glibc-busybox/etc/{passwd,group,nsswitch.conf} "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root"
package toolbox-glibc-busybox "$DD_TOOLBOX_GLIBC_IMAGE" "$root" \
  --config.cmd sh --config.env "PATH=$std_path"

# --- B3 toolbox-musl (alpine, nicolaka/netshoot) --------------------------------------------
# Alpine's layout: /bin/busybox with absolute applet symlinks where `busybox --list-full`
# puts them, /lib/ld-musl-x86_64.so.1 (musl's libc.so is its own loader) and the
# libc.musl-x86_64.so.1 link to it. Then what netshoot adds with apk: real bash, ip and ss
# (/sbin, as Alpine's iproute2), nc (netcat-openbsd) and strace, which replace the applet
# links. These are Debian's glibc builds: their libraries go to /lib/x86_64-linux-gnu and
# the glibc loader to /lib64, so the toolbox mixes two C libraries.
bb_musl=$("$here/busybox-musl.sh" "$bb_source_version")
root="$work/rootfs-toolbox-musl"
base_dirs "$root"
mkdir -p "$root"/{bin,sbin,lib,usr/bin,usr/sbin,usr/local/bin}
install -m 0755 "$bb_musl/busybox" "$root/bin/busybox"
install -m 0755 "$musl_loader" "$root/lib/ld-musl-x86_64.so.1"
ln -s ld-musl-x86_64.so.1 "$root/lib/libc.musl-x86_64.so.1"
"$bb_musl/busybox" --list-full | while read -r applet; do
  case $applet in bin/busybox | linuxrc) continue ;; esac
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done
for prog in "$bash_bin:/bin/bash" "$ip_bin:/sbin/ip" "$ss_bin:/sbin/ss" "$nc_bin:/usr/bin/nc" \
  "$strace_bin:/usr/bin/strace"; do
  rm -f "$root${prog#*:}"
  install -m 0755 "${prog%%:*}" "$root${prog#*:}"
done
for lib in "${musl_libs[@]}"; do copy_host "$root" "$lib"; done
install -m 0644 "$here"/toolbox-musl/etc/{passwd,group} "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root"
package toolbox-musl "$DD_TOOLBOX_MUSL_IMAGE" "$root" \
  --config.cmd /bin/sh --config.env "PATH=$std_path"

# --- B4 toolbox-debian (debian, ubuntu) -----------------------------------------------------
# Debian 12's own files at their own paths: merged /usr, /bin/sh -> dash, and the link chains
# of the packages (pidof, nc) as they are.
root="$work/rootfs-toolbox-debian"
merged_usr "$root"
base_dirs "$root"
for prog in "${debian_progs[@]}" "${debian_libs[@]}"; do copy_host "$root" "$prog"; done
# The shell is dash whatever the host's /bin/sh is.
ln -sfn dash "$root/usr/bin/sh"
install -m 0644 "$here"/toolbox-debian/etc/{passwd,group,nsswitch.conf} "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root"
package toolbox-debian "$DD_TOOLBOX_DEBIAN_IMAGE" "$root" \
  --config.cmd bash --config.env "PATH=$std_path"

# --- B5 toolbox-bash (amazonlinux, UBI) -----------------------------------------------------
# /bin/sh is bash (started as sh, in POSIX mode) and there is no dash. pidof is a program of
# its own as procps-ng installs it on those (here killall5, which acts as pidof under that
# name). The libraries stay at Debian's paths: the loader finds nothing in /usr/lib64.
root="$work/rootfs-toolbox-bash"
merged_usr "$root"
base_dirs "$root"
for prog in "${bash_progs[@]}" "${bash_libs[@]}"; do copy_host "$root" "$prog"; done
ln -sfn bash "$root/usr/bin/sh"
install -m 0755 "$killall5_bin" "$root/usr/bin/pidof"
install -m 0644 "$here"/toolbox-bash/etc/{passwd,group,nsswitch.conf} "$root/etc/"
chown -R 0:0 "$root"
chmod 0755 "$root"
package toolbox-bash "$DD_TOOLBOX_BASH_IMAGE" "$root" \
  --config.cmd /bin/bash --config.env "PATH=$std_path"

# --- B6 toolbox-distroless-debug (gcr.io/distroless/base-debian12:debug) --------------------
# distroless' debug layer: a static (musl) busybox in /busybox with an absolute symlink per
# applet, and PATH ending in /busybox; no /bin, so no /bin/sh. Under it distroless base:
# Debian's libc6 without the /usr merge (/lib/x86_64-linux-gnu, /lib64/ld-linux-x86-64.so.2
# -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2), passwd with nonroot, /tmp. strace with its
# libraries is added in /usr/bin.
root="$work/rootfs-toolbox-distroless-debug"
base_dirs "$root"
mkdir -p "$root"/{busybox,lib,lib64,usr/bin,home/nonroot}
install -m 0755 "$bb_musl/busybox.static" "$root/busybox/busybox"
"$bb_musl/busybox.static" --list | while read -r applet; do
  [ "$applet" = busybox ] || ln -s /busybox/busybox "$root/busybox/$applet"
done
copy_host "$root" "$strace_bin"
# shellcheck disable=SC2086 # one library path a word
for lib in "${libc6_libs[@]}" $strace_libs; do copy_host "$root" "$lib"; done
install -m 0644 "$here"/toolbox-distroless-debug/etc/{passwd,group,nsswitch.conf} "$root/etc/"
chown -R 0:0 "$root"
chown 65532:65532 "$root/home/nonroot"
chmod 0755 "$root"
package toolbox-distroless-debug "$DD_TOOLBOX_DISTROLESS_IMAGE" "$root" \
  --config.entrypoint /busybox/sh --config.workingdir / --config.user 0 \
  --config.env "PATH=$std_path:/busybox" \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# --- B7 toolbox-large (nicolaka/netshoot-sized) ---------------------------------------------
# B1's layer plus one more with 1,100 programs: 700 small scripts in /usr/local/bin and 400
# hard links of coreutils' true (dynamic, glibc as B1's strace) in /usr/bin, each name its own.
root="$work/rootfs-toolbox-large"
mkdir -p "$root/usr/local/bin" "$root/usr/bin"
for i in $(seq -w 1 700); do
  printf '#!/bin/sh\n# A filler program of the large test toolbox.\necho "dd-tool-%s" "$@"\n' "$i" \
    >"$root/usr/local/bin/dd-tool-$i"
done
chmod 0755 "$root"/usr/local/bin/*
install -m 0755 "$true_bin" "$root/usr/bin/dd-true-001"
for i in $(seq -w 2 400); do ln "$root/usr/bin/dd-true-001" "$root/usr/bin/dd-true-$i"; done
chown -R 0:0 "$root"
chmod 0755 "$root" "$root/usr" "$root/usr/local" "$root/usr/local/bin" "$root/usr/bin"
package_on toolbox toolbox-large "$DD_TOOLBOX_LARGE_IMAGE" "$root" \
  --config.env "PATH=$std_path"

touch "$work/out/.complete"
rm -rf "$out"
mv "$work/out" "$out"
report
