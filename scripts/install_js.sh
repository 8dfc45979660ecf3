#!/usr/bin/env bash
# The web app's JavaScript libraries, pinned in package.json + package-lock.json:
# `npm ci` into node_modules/ (when the lock file changed), then the files the pages
# load copied into webapp/static/vendor/ (not committed; served by Flask as our own
# static files, never from a CDN). Idempotent and quick when nothing changed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
command -v npm >/dev/null 2>&1 || { echo "npm is missing: scripts/install_system_deps.sh installs it"; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm ci (the explorer's libraries and the JavaScript lint)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi
vendor=webapp/static/vendor
mkdir -p "$vendor/leaflet/images" "$vendor/uplot"
cp -p node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$vendor/leaflet/"
cp -p node_modules/leaflet/dist/images/*.png "$vendor/leaflet/images/"
cp -p node_modules/leaflet/LICENSE "$vendor/leaflet/LICENSE"
cp -p node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$vendor/uplot/"
cp -p node_modules/uplot/LICENSE "$vendor/uplot/LICENSE"
