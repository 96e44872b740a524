#!/usr/bin/env bash
# CI checks that need no cluster and no network beyond crates.io and Debian's packages:
#
#   advisories  RustSec advisories with cargo-deny, offline, against a snapshot of the advisory
#               database: $DD_ADVISORY_DB, by default shared/advisory-db/advisory-db.tar.gz in
#               the nearest directory above the repository that has one (a tarball of a clone
#               of rustsec/advisory-db, unpacking to advdb/). Vulnerabilities, unsound and notice advisories fail; unmaintained crates
#               are warnings (policy in deny.toml).
#   platforms   cargo clippy -D warnings (all targets, feature e2e) for x86_64-pc-windows-gnu
#               and aarch64-apple-darwin: the code compiles off Linux and its cfg branches
#               are linted. No linking: there is no macOS SDK here.
#
# Usage: .ci/platforms-and-advisories.sh [advisories] [platforms]   (default: both)
# Installs what it needs (rustup targets, Debian packages, cargo-deny) and caches it under
# $DD_CACHE (~/.cache/distroless-debug); a second run takes seconds. Build products go to
# $CARGO_TARGET_DIR, by default the cache's cargo-target as in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
self=$repo/.ci/$(basename "$0")
export CARGO_TERM_COLOR=never
cache=${DD_CACHE:-$HOME/.cache/distroless-debug}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/cargo-target}
mkdir -p "$cache"

die() {
  echo "error: $*" >&2
  exit 1
}

# Installs the Debian packages given that are missing.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The snapshot: $DD_ADVISORY_DB, else shared/advisory-db/advisory-db.tar.gz in the nearest
# directory above the repository that has one (a clone may sit deeper than the workspace).
find_advisory_db() {
  if [ -n "${DD_ADVISORY_DB:-}" ]; then
    echo "$DD_ADVISORY_DB"
    return
  fi
  local dir=$repo
  while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    if [ -f "$dir/shared/advisory-db/advisory-db.tar.gz" ]; then
      echo "$dir/shared/advisory-db/advisory-db.tar.gz"
      return
    fi
  done
  echo "$repo/../shared/advisory-db/advisory-db.tar.gz"
}

check_advisories() {
  local db_tar
  db_tar=$(find_advisory_db)
  if [ ! -f "$db_tar" ]; then
    echo "error: no RustSec advisory database snapshot at $db_tar (nor in a shared/ above the repository)" >&2
    echo "hint: set DD_ADVISORY_DB to the path of advisory-db.tar.gz (a tarball of a clone" >&2
    echo "      of rustsec/advisory-db, unpacking to advdb/): CI cannot reach its repository" >&2
    exit 1
  fi
  db_tar=$(realpath "$db_tar")
  command -v git >/dev/null || apt_install git

  # The same cargo-deny as .ci/run's, in the same place.
  local deny_version=0.20.2
  local deny_root=$cache/cargo-deny-$deny_version
  if [ ! -x "$deny_root/bin/cargo-deny" ]; then
    echo "building cargo-deny $deny_version (a few minutes, once)"
    cargo install cargo-deny --version "$deny_version" --locked --root "$deny_root" --quiet
  fi
  local deny=$deny_root/bin/cargo-deny

  # cargo-deny looks for the default database (https://github.com/RustSec/advisory-db) in
  # <db-path>/advisory-db-3157b0e258782691; the snapshot is unpacked there once per tarball.
  local hash db_root db_dir
  hash=$(sha256sum "$db_tar" | cut -c1-16)
  db_root=$cache/advisory-db-$hash
  db_dir=$db_root/advisory-db-3157b0e258782691
  if [ ! -d "$db_dir/.git" ]; then
    echo "unpacking $db_tar"
    mkdir -p "$db_root"
    local tmp
    tmp=$(mktemp -d "$db_root/unpack.XXXXXX")
    tar --no-same-owner -xzf "$db_tar" -C "$tmp"
    if [ ! -d "$tmp/advdb/.git" ]; then
      rm -rf "$tmp"
      die "$db_tar does not unpack to a git clone advdb/"
    fi
    # Another run may have won the race: then its copy is as good.
    mv -T "$tmp/advdb" "$db_dir" 2>/dev/null || [ -d "$db_dir/.git" ] ||
      die "cannot move the database to $db_dir"
    rm -rf "$tmp"
  fi

  # The snapshot's age, from its last commit (else the date in the README beside the tarball).
  local commit date age
  commit=$(git -C "$db_dir" log -1 --format=%h 2>/dev/null || true)
  date=$(git -C "$db_dir" log -1 --format=%cs 2>/dev/null || true)
  if [ -z "$date" ]; then
    date=$(grep -Eo '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$(dirname "$db_tar")/README.md" 2>/dev/null |
      head -1 || true)
  fi
  if [ -n "$date" ]; then
    age=$((($(date -u +%s) - $(date -u -d "$date" +%s)) / 86400))
    echo "advisory database: rustsec/advisory-db ${commit:+commit $commit }of $date ($age days old)"
    if [ "$age" -gt 90 ]; then
      echo "warning: the advisory database snapshot is $age days old: advisories published since" \
        "$date are not checked; replace $db_tar with a newer one"
    fi
  else
    echo "warning: the advisory database snapshot's date is unknown"
  fi

  # deny.toml with the database's location in its [advisories] table. cargo-deny's own
  # staleness limit (90 days, measured from file times of the unpacked clone) is lifted: the age
  # is reported above from the data itself.
  local cfg_text cfg
  cfg_text=$(awk -v path="$db_root" '
    { print }
    $0 == "[advisories]" {
      print "db-path = '\''" path "'\''"
      print "maximum-db-staleness = \"P3650D\""
      n++
    }
    END { if (n != 1) exit 1 }' deny.toml) || die "deny.toml needs exactly one [advisories] line"
  cfg=$db_root/deny-$(printf '%s\n' "$cfg_text" | sha256sum | cut -c1-16).toml
  [ -f "$cfg" ] || { printf '%s\n' "$cfg_text" >"$cfg.$$" && mv "$cfg.$$" "$cfg"; }

  echo "cargo deny --offline check advisories ($("$deny" --version))"
  "$deny" --offline --locked --config "$cfg" check --show-stats --warn unmaintained advisories
}

# ring's build script compiles C and assembly for the target even for `cargo check`.
check_platforms() {
  command -v rustup >/dev/null || die "rustup is required to add the targets"
  apt_install gcc-mingw-w64-x86-64 clang
  local installed t
  installed=$(rustup target list --installed)
  for t in x86_64-pc-windows-gnu aarch64-apple-darwin; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
  done

  # Windows: cc's default for the target, x86_64-w64-mingw32-gcc, works as it is.
  # macOS: Debian's clang compiles for Apple targets, but there is no SDK. ring's C needs only
  # clang's own headers (stdint.h and the like) once the host's /usr/include is out of the way
  # (-nostdlibinc, which ring supports with RING_CORE_NOSTDLIBINC), and TargetConditionals.h,
  # stood in for below. The objects are never linked. Fixed paths keep the build cached: ring's
  # build script runs again when these variables change.
  local inc=$cache/darwin-include
  local stub='/* Stand-in for the macOS SDK header: what ring reads from it, to check from Linux. */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0'
  if [ "$(cat "$inc/TargetConditionals.h" 2>/dev/null)" != "$stub" ]; then
    mkdir -p "$inc"
    printf '%s\n' "$stub" >"$inc/TargetConditionals.h.$$"
    mv "$inc/TargetConditionals.h.$$" "$inc/TargetConditionals.h"
  fi
  export CC_aarch64_apple_darwin=clang
  export CFLAGS_aarch64_apple_darwin="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -isystem $inc"

  for t in x86_64-pc-windows-gnu aarch64-apple-darwin; do
    local t0=$SECONDS
    echo "cargo clippy --target $t --all-targets --features e2e -- -D warnings"
    cargo clippy --locked --target "$t" --all-targets --features e2e -- -D warnings
    echo "$t: ok in $((SECONDS - t0))s"
  done
}

if [ $# -eq 0 ]; then
  set -- advisories platforms
fi
case "${DD_CHECK_PART:-}" in
  advisories) check_advisories; exit ;;
  platforms) check_platforms; exit ;;
  "") ;;
  *) die "unknown part $DD_CHECK_PART" ;;
esac

# Each part runs in its own process, so both report even when the first fails.
started=$SECONDS
failed=()
for part in "$@"; do
  case "$part" in
    advisories | platforms) ;;
    *) die "unknown check '$part' (advisories, platforms)" ;;
  esac
done
for part in "$@"; do
  echo "== $part"
  t0=$SECONDS
  if DD_CHECK_PART=$part bash "$self"; then
    echo "== $part passed in $((SECONDS - t0))s"
  else
    echo "== $part FAILED in $((SECONDS - t0))s"
    failed+=("$part")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== failed: ${failed[*]} ($((SECONDS - started))s)"
  exit 1
fi
echo "== passed: ${*} ($((SECONDS - started))s)"
