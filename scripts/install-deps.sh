#!/usr/bin/env bash
# Installs what SecureExecutor's tests (default) or benchmarks (--bench) need beyond the Swift
# toolchain. Safe to run again; skips what is present. Needs root (or sudo), Debian's archive
# and PyPI.
set -euo pipefail
debian=(ca-certificates redis-server bubblewrap libseccomp2)   # redis-server: the redis tests and tutorial-01; bubblewrap: the sandbox backend;
                                                             # libseccomp2: its seccomp filter (loaded at run time, no headers needed)
python=()
if [[ "${1:-}" == "--bench" ]]; then
  debian+=(wrk)           # load generator of `secure-executor-bench http`
  python+=(wasmtime)      # the peer runtime of `secure-executor-bench functions`
fi

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for package in "${debian[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
for package in "${python[@]}"; do
  python3 -c "import $package" 2>/dev/null || python3 -m pip install -q "$package"
done
