#!/usr/bin/env bash
# Builds the release binary for one target and packs it for krew and GitHub releases:
#
#   dist/kubectl-distroless_debug_<version>_<os>_<arch>.tar.gz   (.zip for Windows)
#   dist/kubectl-distroless_debug_<version>_<os>_<arch>.tar.gz.sha256
#
# holding the binary (kubectl-distroless_debug, .exe on Windows), the completion executable
# kubectl runs for plugin completion (kubectl_complete-distroless_debug), the man page
# (kubectl-distroless-debug.1), LICENSE and README.md at the top level. The version comes from
# Cargo.toml.
#
#   krew/build-archive.sh                               x86_64-unknown-linux-musl (static)
#   krew/build-archive.sh aarch64-apple-darwin          any triple in the table below
#
# Linux targets are musl builds, fully static (rustls + ring, no OpenSSL, no glibc); they
# need musl-tools (musl-gcc) for ring's C code and are checked to be static. The rustup
# target is added when it is missing. stdout is the archive's path (one line); progress goes
# to stderr. DIST_DIR overrides the output directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

target=${1:-x86_64-unknown-linux-musl}
dist=${DIST_DIR:-$root/dist}
bin_name=kubectl-distroless_debug
comp_name=kubectl_complete-distroless_debug
man_page=kubectl-distroless-debug.1

log() { echo "build-archive: $*" >&2; }
die() { echo "build-archive: error: $*" >&2; exit 1; }

case $target in
  x86_64-unknown-linux-musl) os=linux arch=amd64 ;;
  aarch64-unknown-linux-musl) os=linux arch=arm64 ;;
  x86_64-apple-darwin) os=darwin arch=amd64 ;;
  aarch64-apple-darwin) os=darwin arch=arm64 ;;
  x86_64-pc-windows-msvc | x86_64-pc-windows-gnu) os=windows arch=amd64 ;;
  *) die "unsupported target $target" ;;
esac
exe=$bin_name comp=$comp_name
[ "$os" = windows ] && exe=$bin_name.exe comp=$comp_name.exe

# [package] version of Cargo.toml: the first top-level `version = "..."` after [package].
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") ; next }
  in_pkg && /^version[[:space:]]*=/ { gsub(/.*=[[:space:]]*"|".*/, ""); print; exit }
' Cargo.toml)
[ -n "$version" ] || die "no [package] version in Cargo.toml"

for f in LICENSE README.md docs/$man_page; do [ -f "$f" ] || die "$f is missing (the archive ships it)"; done

sha256() { # file -> "HASH  NAME" in the file's directory
  (
    cd "$(dirname "$1")"
    if command -v sha256sum >/dev/null; then sha256sum "$(basename "$1")"
    else shasum -a 256 "$(basename "$1")"; fi
  )
}

# --- build ----------------------------------------------------------------------------------
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  log "adding rustup target $target"
  rustup target add "$target" >&2
fi
if [ "$os" = linux ]; then
  command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools)"
  # ring compiles C and assembly for the target; musl-gcc points it at musl's headers.
  cc_var=CC_${target//-/_}
  export "$cc_var=${!cc_var:-musl-gcc}"
fi
log "cargo build --release --locked --target $target ($version)"
cargo build --release --locked --target "$target" >&2
target_dir=${CARGO_TARGET_DIR:-$root/target}
binary="$target_dir/$target/release/$exe"
[ -f "$binary" ] || die "$binary was not built"
comp_binary="$target_dir/$target/release/$comp"
[ -f "$comp_binary" ] || die "$comp_binary was not built"

if [ "$os" = linux ] && [ "$(uname -s)" = Linux ]; then
  # A static executable: no program interpreter, no needed libraries. Rust's musl targets
  # link static-pie by default, for which ldd prints "statically linked" (and exits 0), and
  # for a non-PIE static binary "not a dynamic executable".
  for b in "$binary" "$comp_binary"; do
    if readelf -lW "$b" | grep -q 'Requesting program interpreter' ||
      readelf -dW "$b" | grep -q '(NEEDED)'; then
      die "$b is dynamically linked: $(ldd "$b" 2>&1 | tr '\n' ' ')"
    fi
    case $(ldd "$b" 2>&1) in
      *"statically linked"* | *"not a dynamic executable"*) ;;
      *) die "ldd does not call $b static: $(ldd "$b" 2>&1 | tr '\n' ' ')" ;;
    esac
  done
  log "static: $(file -b "$binary" 2>/dev/null | cut -d, -f1-5)"
fi

# --- pack -----------------------------------------------------------------------------------
stem=${bin_name}_${version}_${os}_${arch}
mkdir -p "$dist"
stage=$(mktemp -d "$dist/.stage-$stem.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/$exe"
cp "$comp_binary" "$stage/$comp"
cp LICENSE README.md "docs/$man_page" "$stage/"
chmod 0755 "$stage/$exe" "$stage/$comp"
chmod 0644 "$stage/LICENSE" "$stage/README.md" "$stage/$man_page"
files=("$exe" "$comp" LICENSE README.md "$man_page")

if [ "$os" = windows ]; then
  archive="$dist/$stem.zip"
  rm -f "$archive"
  if command -v zip >/dev/null; then
    (cd "$stage" && zip -q -X "$archive" "${files[@]}")
  else # Windows runners have 7-Zip, not zip
    (cd "$stage" && 7z a -tzip -bd "$archive" "${files[@]}" >/dev/null)
  fi
else
  archive="$dist/$stem.tar.gz"
  tar_flags=()
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    # Same inputs, same archive: fixed order, owner and times.
    touch -d @0 "$stage"/*
    tar_flags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=@0)
  fi
  tar "${tar_flags[@]}" -C "$stage" -cf - "${files[@]}" | gzip -n -9 >"$archive.tmp"
  mv "$archive.tmp" "$archive"
fi
sha256 "$archive" >"$archive.sha256"

log "$(basename "$archive"): $(wc -c <"$archive") bytes, binary $(wc -c <"$binary") bytes, completion $(wc -c <"$comp_binary") bytes"
log "sha256 $(cut -d' ' -f1 "$archive.sha256")"
echo "$archive"
