#!/usr/bin/env bash
# Installs what is missing, configures (warnings are errors) and builds
# fhirsync into build/ at the top of the checkout.
#   FHIRSYNC_JOBS      parallel build jobs (default 2)
#   FHIRSYNC_TESTDATA  the shared test data folder (default ../shared/testdata
#                      beside the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FHIRSYNC_JOBS:-2}"

bash "$ROOT/scripts/install-deps.sh"
source "$ROOT/scripts/ccache-env.sh"

configure=(-S "$ROOT" -B "$ROOT/build" -G Ninja -DFHIRSYNC_WERROR=ON)
if [ -n "${FHIRSYNC_TESTDATA:-}" ]; then
  configure+=("-DFHIRSYNC_TESTDATA_DIR=$FHIRSYNC_TESTDATA")
fi
# A build/ configured by another generator cannot be reused by Ninja.
if [ -f "$ROOT/build/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$ROOT/build/CMakeCache.txt"; then
  echo "build: $ROOT/build was configured with another generator; remove it first" >&2
  exit 1
fi
cmake "${configure[@]}" >/dev/null
cmake --build "$ROOT/build" -j "$JOBS"
