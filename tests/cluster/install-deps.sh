#!/usr/bin/env bash
# Installs what the test cluster and the end-to-end tests need from Debian's packages. Safe to
# run again: it installs only what is missing.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins umoci skopeo busybox-static
  strace tcpdump iptables iproute2 openssl curl musl-tools procps psmisc git python3 binutils
  tmux time file
  # htpasswd -B: the bcrypt password file of the test registry behind auth (up.sh).
  apache2-utils
  # runc built from Go (configurations that do not use Debian's) links libseccomp through cgo.
  libseccomp-dev pkg-config
  # The toolbox images of tests/images/build.sh copy the host's programs with their
  # libraries (the glibc busybox is downloaded, not installed: it conflicts with
  # busybox-static). dpkg-dev, make, gcc and musl build a musl busybox from Debian's source.
  dash bash coreutils sysvinit-utils netcat-openbsd grep sed findutils libc6 musl musl-dev
  dpkg-dev make gcc libc6-dev linux-libc-dev bzip2 xz-utils debian-archive-keyring)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another apt or dpkg may be running (unattended upgrades, a parallel setup): wait for its
  # lock instead of failing at once.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packages may start their own daemons where an init system exists; the cluster runs its
# own containerd with private state, so nothing else is needed. etcd, and containerd 2 and runc
# where a configuration asks for them, are built from Go (build.sh).
command -v go >/dev/null || { echo "error: Go is required to build Kubernetes and etcd" >&2; exit 1; }
