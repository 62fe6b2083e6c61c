#!/usr/bin/env bash
# Installs the third-party FHIR server (package.json, pinned by
# package-lock.json) into DEST with `npm ci`, once: a DEST whose lock file
# matches is left as it is. The third_party_fhir ctest fixture runs this; it
# needs Node.js and the npm registry, and fails naming what is missing
# (the tests that need the server then fail too: they never skip).
#   install.sh DEST
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEST="${1:?usage: install.sh DEST}"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "third-party FHIR server: '$tool' is not installed (Node.js 18 or newer with npm;" \
         "scripts/install-deps.sh installs nodejs)" >&2
    exit 1
  fi
done

mkdir -p "$DEST"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/server.cjs" "$DEST/"
if [ -d "$DEST/node_modules" ] && cmp -s "$HERE/package-lock.json" "$DEST/node_modules/.fhirsync-installed-lock.json"; then
  echo "third-party FHIR server: already installed in $DEST"
  exit 0
fi
rm -rf "$DEST/node_modules"
if ! (cd "$DEST" && timeout 600 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
  echo "third-party FHIR server: 'npm ci' in $DEST failed: is the npm registry reachable" \
       "(npm config get registry: $(npm config get registry 2>/dev/null))?" >&2
  exit 1
fi
cp "$HERE/package-lock.json" "$DEST/node_modules/.fhirsync-installed-lock.json"
echo "third-party FHIR server: installed in $DEST"
