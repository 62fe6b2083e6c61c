#!/usr/bin/env bash
# The main job: builds fhirsync, creates a node in a temporary folder,
# imports the Synthea sample (fhir-r4-bulk/*.ndjson) and prints what the node
# holds.
#   FHIRSYNC_TESTDATA   the shared test data folder (default ../shared/testdata
#                       beside the checkout)
#   FHIRSYNC_DEMO_KEEP  set to 1 to keep the node folder afterwards
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTDATA="${FHIRSYNC_TESTDATA:-$ROOT/../shared/testdata}"
BULK="$TESTDATA/fhir-r4-bulk"

if ! ls "$BULK"/*.ndjson >/dev/null 2>&1; then
  echo "demo: no NDJSON files in $BULK (set FHIRSYNC_TESTDATA to the test data folder)" >&2
  exit 1
fi

bash "$ROOT/scripts/build.sh"
FHIRSYNC="$ROOT/build/apps/fhirsync/fhirsync"

NODE="$(mktemp -d "${TMPDIR:-/tmp}/fhirsync-demo.XXXXXX")"
if [ "${FHIRSYNC_DEMO_KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$NODE"' EXIT
fi

run() {
  echo
  echo "\$ fhirsync $*"
  "$FHIRSYNC" "$@"
}

run init --dir "$NODE" --node-id demo-node
run import --dir "$NODE" "$BULK"/*.ndjson
run stats --dir "$NODE"
echo
if [ "${FHIRSYNC_DEMO_KEEP:-0}" = 1 ]; then
  echo "The node is kept in $NODE; try: $FHIRSYNC changes --dir $NODE --limit 5"
else
  echo "The node folder has been removed (FHIRSYNC_DEMO_KEEP=1 keeps it)."
fi
