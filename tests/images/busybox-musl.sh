#!/usr/bin/env bash
# Usage: tests/images/busybox-musl.sh SOURCE_VERSION
#
# Builds BusyBox from Debian's `busybox` source package, version SOURCE_VERSION, with musl-gcc
# and BusyBox's defconfig, for the toolbox images of build.sh:
#   busybox         dynamically linked against musl (interpreter /lib/ld-musl-x86_64.so.1),
#                   as Alpine's busybox is
#   busybox.static  the same objects linked statically, as the busybox.net musl binaries that
#                   distroless' debug images carry
# Prints the directory holding both (and the .config) on stdout. The build is cached in
# $DD_CACHE/busybox-musl/<version>-<recipe>/, where <recipe> hashes this script and the
# compilers, so a second run costs nothing and needs no network.
#
# The source comes from the Debian repositories the host already uses for its packages, with
# deb-src entries in a private apt state directory: the host's apt configuration and lists are
# not touched.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SOURCE_VERSION" >&2; exit 2; }
version=$1
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "busybox-musl: $*" >&2; }
die() { echo "busybox-musl: error: $*" >&2; exit 1; }

for tool in apt-get dpkg-source musl-gcc gcc make flock sha256sum; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (apt-get install dpkg-dev musl-tools musl-dev gcc make)"
done

cache=${DD_CACHE:-$HOME/.cache/distroless-debug}/busybox-musl
recipe=$(
  {
    sha256sum <"$here/busybox-musl.sh"
    musl-gcc --version | sed -n 1p
    dpkg-query -W -f='${Version}\n' musl musl-dev linux-libc-dev 2>/dev/null || true
  } | sha256sum | cut -c1-12
)
# Epochs contain ':', which make and some tools take for a separator.
out="$cache/${version//:/_}-$recipe"

if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi

log "building BusyBox $version with musl into $out"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- source ---------------------------------------------------------------------------------
# deb-src entries for every Debian repository the host takes packages from (same mirrors and
# suites), in a private sources.list with private lists and cache directories.
apt_dir=$work/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
# shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
  'Identifier: Packages' 'Origin: Debian' | LC_ALL=C sort -u |
  while read -r uri release component; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $release $component"
  done >"$apt_dir/sources.list"
[ -s "$apt_dir/sources.list" ] || die "no Debian repository in the host's apt sources"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  # The files are downloaded as root into our own directory; the _apt user could not write it.
  -o APT::Sandbox::User=root
)
apt-get "${apt_opts[@]}" update -qq >/dev/null
(
  cd "$work"
  apt-get "${apt_opts[@]}" source --download-only -qq "busybox=$version" >/dev/null
) || die "apt-get source busybox=$version failed (an outdated apt list? run apt-get update)"
# apt checked the files against the signed Sources index; dpkg-source applies Debian's patches.
dpkg-source --no-check -x "$work"/busybox_*.dsc "$work/src" >/dev/null

# --- build ----------------------------------------------------------------------------------
# musl-gcc searches only musl's headers; BusyBox also includes the kernel's (linux/, asm/,
# mtd/), which are libc-independent: offer Debian's linux-libc-dev ones, and nothing of glibc.
kh=$work/kernel-headers
mkdir -p "$kh"
for d in linux asm-generic mtd; do ln -s "/usr/include/$d" "$kh/$d"; done
ln -s "/usr/include/$(gcc -print-multiarch)/asm" "$kh/asm"

cd "$work/src"
# A fixed build date (the banner shows none) and no timestamp in autoconf.h: the same source
# gives the same binary.
export SOURCE_DATE_EPOCH=0 KCONFIG_NOTIMESTAMP=1
mk=(make CC=musl-gcc HOSTCC=gcc "EXTRA_CFLAGS=-isystem $kh")
"${mk[@]}" defconfig >/dev/null
grep -q '^# CONFIG_STATIC is not set' .config || die "defconfig builds a static busybox"
"${mk[@]}" -j "$(nproc)" busybox >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; die "build failed (log above)"; }
mkdir -p "$work/out"
cp busybox "$work/out/busybox"
cp .config "$work/out/config"
# The static variant: only the final link differs, so relink the same objects.
rm -f busybox busybox_unstripped
"${mk[@]}" LDFLAGS=-static busybox >>"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; die "static link failed (log above)"; }
cp busybox "$work/out/busybox.static"

touch "$work/out/.complete"
rm -rf "$out"
mv "$work/out" "$out"
echo "$out"
