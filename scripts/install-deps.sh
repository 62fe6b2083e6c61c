#!/usr/bin/env bash
# Installs the Debian 12 packages fhirsync needs to build, test and run.
# Does nothing (not even `apt-get update`) when they are all installed; uses
# sudo only when not run as root. Add a package: one line in PACKAGES.
set -euo pipefail

PACKAGES=(
  cmake
  ninja-build
  g++
  pkg-config
  libpoco-dev
  libssl-dev
  openssl             # the TLS tests make a throwaway CA with the openssl program
  rapidjson-dev
  libxml2-dev
  libboost-dev
  libboost-filesystem-dev
  libsqlite3-dev
  libpq-dev
  postgresql-15
  zlib1g-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  clang-14            # the sanitized suite and the fuzzers (test-sanitized.sh, fuzz.sh)
  libclang-rt-14-dev  # clang's ASan, UBSan and libFuzzer runtimes
  llvm-14             # llvm-symbolizer: sanitizer reports with file and line
  prometheus-cpp-dev
  chromium
  nodejs
  libsystemd-dev
  dpkg-dev
  systemd
  ccache              # rebuilds of other checkouts (a CI clone) reuse compiled objects
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
