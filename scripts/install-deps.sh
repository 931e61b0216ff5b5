#!/usr/bin/env bash
# Installs the system packages SecureExecutor's build, tests and benchmarks use. Safe to run
# again; does nothing for packages already present. Needs root (or sudo) and Debian's archive.
set -euo pipefail
packages=(ca-certificates)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
