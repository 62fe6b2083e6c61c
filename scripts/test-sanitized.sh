#!/usr/bin/env bash
# The whole test suite again, built by clang with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/: any memory error, leak or
# undefined behaviour fails the test it happens in (-fno-sanitize-recover).
# -O1 keeps the build and the run short enough for CI; benchmarks are not
# built. Same environment variables as build.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FHIRSYNC_JOBS:-2}"
BUILD="$ROOT/build-asan"

bash "$ROOT/scripts/install-deps.sh"
source "$ROOT/scripts/ccache-env.sh"
# Reports name files and lines (llvm-14's symbolizer is not on PATH).
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}"

# -O1 without NDEBUG: quicker to build and run than -O2, and RapidJSON's
# and the code's own asserts stay on.
flags="-O1 -g"
configure=(-S "$ROOT" -B "$BUILD" -G Ninja
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
  -DCMAKE_BUILD_TYPE=Sanitize "-DCMAKE_C_FLAGS_SANITIZE=$flags" "-DCMAKE_CXX_FLAGS_SANITIZE=$flags"
  -DFHIRSYNC_SANITIZE=ON -DFHIRSYNC_BUILD_BENCHMARKS=OFF)
if [ -n "${FHIRSYNC_TESTDATA:-}" ]; then
  configure+=("-DFHIRSYNC_TESTDATA_DIR=$FHIRSYNC_TESTDATA")
fi
cmake "${configure[@]}" >/dev/null
cmake --build "$BUILD" -j "$JOBS"
echo "test-sanitized: built in ${SECONDS} s" >&2

# Every process a test starts (the fhirsync binary included) inherits these.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ctest --test-dir "$BUILD" --output-on-failure --timeout 900 -j "$JOBS"
echo "test-sanitized: built and tested in ${SECONDS} s" >&2
