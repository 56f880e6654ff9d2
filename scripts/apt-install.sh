#!/usr/bin/env bash
# Install the named Debian packages that are not installed yet, in one apt-get call; do nothing when all are there.
#   bash scripts/apt-install.sh busybox-static mmdebstrap
# Needs root and apt; elsewhere it says exactly what to install and fails.
set -euo pipefail

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "packages: missing ${missing[*]}; install them (Debian/Ubuntu as root: apt-get install ${missing[*]})" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
LOG="${TMPDIR:-/tmp}/crml-apt.log"
apt_quiet() { apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" >>"$LOG" 2>&1; }

# Refresh the lists only when apt does not know one of the packages (a fresh machine has no lists), and once more
# when an install fails (stale lists point at files the mirror no longer has).
for pkg in "${missing[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then apt_quiet update || true; break; fi
done
if ! apt_quiet install "${missing[@]}"; then
  apt_quiet update || true
  if ! apt_quiet install "${missing[@]}"; then
    echo "packages: apt-get install ${missing[*]} failed; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
fi
echo "packages: installed ${missing[*]}"
