#!/usr/bin/env bash
# Renders the krew plugin manifest for a release from krew/distroless-debug.yaml.tmpl, with
# each platform's sha256 read from the archives' .sha256 files:
#
#   krew/render-manifest.sh VERSION [DIR] > distroless-debug.yaml
#
# VERSION is 1.2.3 or v1.2.3. DIR (default dist/) holds
# kubectl-distroless_debug_<version>_<os>_<arch>.{tar.gz,zip}.sha256 as written by
# krew/build-archive.sh. Every platform of the template needs its file, unless
# --available is given: then platforms without one are left out (for a manifest of the
# locally built archive only). KREW_URI_BASE replaces the release download URL's directory
# (tests serve the archive from a local HTTP server).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "render-manifest: error: $*" >&2; exit 1; }

available=0
args=()
for a in "$@"; do
  case $a in
    --available) available=1 ;;
    -*) die "unknown option $a" ;;
    *) args+=("$a") ;;
  esac
done
if [ ${#args[@]} -lt 1 ] || [ ${#args[@]} -gt 2 ]; then
  die "usage: render-manifest.sh [--available] VERSION [DIR]"
fi
version=${args[0]#v}
dir=${args[1]:-$here/../dist}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
  die "VERSION must be semantic (1.2.3 or v1.2.3), got ${args[0]}"
template=$here/distroless-debug.yaml.tmpl
release_base="https://github.com/distroless-debug/kubectl-distroless-debug/releases/download/v$version"

# "os_arch=sha256" for each platform block of the template that has a .sha256 file.
shas=()
while read -r _ os arch; do
  [ "$os" = end ] && continue
  ext=tar.gz
  [ "$os" = windows ] && ext=zip
  file="$dir/kubectl-distroless_debug_${version}_${os}_${arch}.$ext.sha256"
  if [ -f "$file" ]; then
    sha=$(cut -d' ' -f1 "$file")
    [[ $sha =~ ^[0-9a-f]{64}$ ]] || die "$file does not hold a sha256"
    shas+=("${os}_${arch}=$sha")
  elif [ $available = 0 ]; then
    die "$file is missing (use --available to leave $os/$arch out)"
  fi
done < <(grep '^#@ ' "$template")
[ ${#shas[@]} -gt 0 ] || die "no .sha256 file for version $version in $dir"

out=$(awk -v version="$version" -v shas="${shas[*]}" \
  -v base="${KREW_URI_BASE:-$release_base}" -v release_base="$release_base" '
  BEGIN {
    n = split(shas, kv, " ")
    for (i = 1; i <= n; i++) { split(kv[i], p, "="); sha[p[1]] = p[2] }
    print "# Rendered by krew/render-manifest.sh from krew/distroless-debug.yaml.tmpl."
    header = 1
  }
  header && /^#/ { next }
  { header = 0 }
  /^#@ / {
    key = $2 "_" $3
    skip = ($2 != "end" && !(key in sha))
    next
  }
  skip { next }
  {
    gsub(/\{\{SHA256\}\}/, sha[key])
    gsub(/\{\{VERSION\}\}/, version)
    if (index($0, release_base) > 0) sub(release_base, base)
    print
  }
' "$template")
if grep -q '{{' <<<"$out"; then die "placeholders left: $(grep '{{' <<<"$out" | head -n1)"; fi
printf '%s\n' "$out"
