#!/usr/bin/env bash
# The main job: builds fhirsync and runs `fhirsync demo`, the story of the
# disconnected client with a parent and two tablets, each its own process on
# 127.0.0.1, in a temporary folder that is removed afterwards.
#   FHIRSYNC_DEMO_KEEP  set to 1 to keep the nodes' folder (fhirsync demo --keep)
#   FHIRSYNC_DEMO_JSON  set to 1 for one JSON line per step (fhirsync demo --json)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$ROOT/scripts/build.sh"
FHIRSYNC="$ROOT/build/apps/fhirsync/fhirsync"

args=(demo)
if [ "${FHIRSYNC_DEMO_KEEP:-0}" = 1 ]; then args+=(--keep); fi
if [ "${FHIRSYNC_DEMO_JSON:-0}" = 1 ]; then args+=(--json); fi
echo "\$ fhirsync ${args[*]}"
exec "$FHIRSYNC" "${args[@]}"
