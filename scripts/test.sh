#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, runs every test (unit and integration). Exits non-zero on any
# failure. Same environment variables as build.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FHIRSYNC_JOBS:-2}"

bash "$ROOT/scripts/build.sh"
ctest --test-dir "$ROOT/build" --output-on-failure --timeout 600 -j "$JOBS"
