#!/usr/bin/env bash
# Install the system packages the tests and the demo need, if they are missing:
# Debian's chromium (browser tests) and docker-compose (validating
# docker-compose.yml; no Docker engine is needed), npm and mongosh (the README's Mongo shell examples),
# curl (the download script's tests run it). Idempotent and quick when
# everything is there.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -q "${missing[@]}" >/tmp/acsq-apt.log 2>&1; then
    $sudo apt-get update -q >>/tmp/acsq-apt.log 2>&1
    $sudo apt-get install -y -q "${missing[@]}" >>/tmp/acsq-apt.log 2>&1 \
      || { tail -20 /tmp/acsq-apt.log; echo "apt-get install ${missing[*]} failed"; exit 1; }
  fi
fi

# mongosh, for the README's Mongo shell one-liners that tests/test_query_mongosh.py runs.
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$repo/build/mongosh/node_modules/.bin/mongosh" ]; then
  echo "installing mongosh from npm into build/mongosh"
  npm install --prefix "$repo/build/mongosh" --no-audit --no-fund mongosh@2 >/tmp/acsq-npm.log 2>&1 \
    || { tail -20 /tmp/acsq-npm.log; echo "npm install mongosh@2 failed"; exit 1; }
fi
