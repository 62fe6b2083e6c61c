#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan+UBSan) into
# build-fuzz/ and runs each for SECONDS (default 60) from its seed corpus.
# Exits non-zero when a fuzzer finds a crash, a sanitizer report or a
# broken property; the input is kept as build-fuzz/crashes/<target>-*.
#   scripts/fuzz.sh [SECONDS]
#   FHIRSYNC_FUZZ_TARGETS  the targets to run (default: all, space-separated)
#   FHIRSYNC_FUZZ_SEED     libFuzzer's random seed (default: a new one each
#                          run); each target's seed is printed, so a run can
#                          be replayed with the same seed and corpus
#   FHIRSYNC_JOBS          parallel build jobs (default 2)
#   FHIRSYNC_TESTDATA      the shared test data folder (default
#                          ../shared/testdata beside the checkout)
# Seeds: the shared test data (feed pages, FHIR resources, Bundles made of
# them, OpenMRS REST bodies), written into build-fuzz/seeds/ at each run,
# plus fuzz/corpus/<target>/ (small hand-written seeds and every input a
# fuzzer once crashed on, kept as a regression). What the fuzzers learn is
# kept in build-fuzz/corpus/<target>/ between runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FHIRSYNC_JOBS:-2}"
SECONDS_EACH="${1:-60}"
BUILD="$ROOT/build-fuzz"
DATA="${FHIRSYNC_TESTDATA:-$ROOT/../shared/testdata}"
TARGETS=(${FHIRSYNC_FUZZ_TARGETS:-atom_page_fuzzer fhir_prepare_fuzzer bundle_fuzzer
         openmrs_rest_json_fuzzer config_fuzzer request_target_fuzzer})
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
for folder in fhir-r4-bulk openmrs-atomfeed openmrs-rest; do
  if [ ! -d "$DATA/$folder" ]; then
    echo "fuzz: no test data at $DATA/$folder (set FHIRSYNC_TESTDATA)" >&2
    exit 1
  fi
done

bash "$ROOT/scripts/install-deps.sh"
source "$ROOT/scripts/ccache-env.sh"
# Reports name files and lines (llvm-14's symbolizer is not on PATH).
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}"
# -O1 without NDEBUG: RapidJSON's and the code's own asserts stay on.
flags="-O1 -g"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Fuzz "-DCMAKE_C_FLAGS_FUZZ=$flags" "-DCMAKE_CXX_FLAGS_FUZZ=$flags" \
  -DFHIRSYNC_FUZZ=ON -DFHIRSYNC_BUILD_TESTS=OFF -DFHIRSYNC_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target fuzzers

# Seed corpora, made afresh from the test data.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{atom_page_fuzzer,fhir_prepare_fuzzer,bundle_fuzzer,openmrs_rest_json_fuzzer}
cp "$DATA"/openmrs-atomfeed/*.xml "$SEEDS/atom_page_fuzzer/"
cp "$DATA"/openmrs-rest/*.json "$SEEDS/openmrs_rest_json_fuzzer/"
for file in "$DATA"/fhir-r4-bulk/*.ndjson; do
  type="$(basename "$file" .ndjson)"
  type="${type%%.*}"
  n=0
  # The first two resources of each type, alone and in Bundles.
  while IFS= read -r line && [ "$n" -lt 2 ]; do
    n=$((n + 1))
    printf '%s' "$line" > "$SEEDS/fhir_prepare_fuzzer/$type-$n.json"
    id="$(printf '%s' "$line" | sed -n 's/^{"resourceType":"[A-Za-z]*","id":"\([^"]*\)".*/\1/p')"
    printf '{"resourceType":"Bundle","type":"batch","entry":[{"resource":%s,"request":{"method":"POST","url":"%s"}},{"request":{"method":"GET","url":"%s/%s"}}]}' \
      "$line" "$type" "$type" "$id" > "$SEEDS/bundle_fuzzer/$type-$n-batch.json"
    printf '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:%s","resource":%s,"request":{"method":"PUT","url":"%s/%s","ifMatch":"W/\\"1\\""}},{"request":{"method":"DELETE","url":"%s/%s"}}]}' \
      "$id" "$line" "$type" "$id" "$type" "$id" > "$SEEDS/bundle_fuzzer/$type-$n-transaction.json"
  done < "$file"
done

dict_of() {
  case "$1" in
    atom_page_fuzzer) echo "$ROOT/fuzz/atom.dict" ;;
    request_target_fuzzer) echo "$ROOT/fuzz/url.dict" ;;
    *) echo "$ROOT/fuzz/json.dict" ;;
  esac
}

mkdir -p "$BUILD/crashes" "$BUILD/logs"
failed=()
summary=()
for target in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$target"
  mkdir -p "$corpus" "$BUILD/tmp"
  inputs=("$corpus")
  [ -d "$SEEDS/$target" ] && inputs+=("$SEEDS/$target")
  [ -d "$ROOT/fuzz/corpus/$target" ] && inputs+=("$ROOT/fuzz/corpus/$target")
  log="$BUILD/logs/$target.log"
  echo "fuzz: $target for ${SECONDS_EACH} s (log: $log)" >&2
  seed_flag=()
  [ -n "${FHIRSYNC_FUZZ_SEED:-}" ] && seed_flag=(-seed="$FHIRSYNC_FUZZ_SEED")
  status=0
  # The store the server fuzzers write lives in TMPDIR; keep it in the build.
  TMPDIR="$BUILD/tmp" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
    "$BUILD/fuzz/$target" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -dict="$(dict_of "$target")" \
    -artifact_prefix="$BUILD/crashes/$target-" "${seed_flag[@]}" "${inputs[@]}" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  features="$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  seed="$(sed -n 's/^INFO: Seed: *//p' "$log" | head -1)"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    summary+=("$target: FAILED (exit $status) after ${execs:-?} executions, seed ${seed:-?}; see $log")
    tail -40 "$log" >&2
  else
    summary+=("$target: ${execs:-?} executions, ${features:-?} coverage features, seed ${seed:-?}, no finding")
  fi
done
printf 'fuzz: %s\n' "${summary[@]}" >&2
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}; crashing inputs in $BUILD/crashes/" >&2
  exit 1
fi
