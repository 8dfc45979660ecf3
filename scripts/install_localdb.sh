#!/usr/bin/env bash
# Set up the local MongoDB-compatible server, SecantusDB, for the demo, tests and CI.
#
# Default: its Rust server `secantusd-rs`, built once from crates.io at the exact
# version in scripts/localserver/pins.env (with the crate's own Cargo.lock, so the
# whole dependency tree is pinned) into a cache outside the work tree, keyed by
# version, so that every clone on this machine shares it:
#   ${XDG_CACHE_HOME:-~/.cache}/acsq-mongo/secantus-mdb-<version>/bin/secantusd-rs
# Fallback, when there is no Rust toolchain or the build fails: its Python server
# `secantusd-py` from PyPI, in its own virtualenv build/secantus-py (never the
# project's .venv: SecantusDB is GPL-2.0-only and runs as a separate process).
#
# Idempotent, and quick when the server is already there. Says which server it
# set up and why.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=localserver/pins.env
. "$repo/scripts/localserver/pins.env"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/acsq-mongo"
rs_root="$cache/secantus-mdb-$SECANTUS_RS_VERSION"
rs_bin="$rs_root/bin/secantusd-rs"
py_venv="$repo/build/secantus-py"
py_bin="$py_venv/bin/secantusd-py"
log="$cache/build-secantus-mdb-$SECANTUS_RS_VERSION.log"

install_py() {
  if [ -x "$py_bin" ] && "$py_venv/bin/python" -m pip show SecantusDB 2>/dev/null \
      | grep -qx "Version: $SECANTUS_PY_VERSION"; then
    return 0
  fi
  echo "local server: installing SecantusDB's Python server $SECANTUS_PY_VERSION into $py_venv"
  python3 -m venv "$py_venv"
  "$py_venv/bin/python" -m pip install -q --upgrade pip
  "$py_venv/bin/python" -m pip install -q "SecantusDB==$SECANTUS_PY_VERSION"
}

# The Python server is always installed: it is the fallback, and one test keeps it honest.
install_py

if [ -x "$rs_bin" ]; then
  echo "local server: SecantusDB Rust server $SECANTUS_RS_VERSION ($rs_bin)"
  exit 0
fi

why=""
failed="$cache/build-secantus-mdb-$SECANTUS_RS_VERSION.failed"
if [ -f "$failed" ]; then
  why="its Rust build failed before (delete $failed to try again)"
elif ! command -v cargo >/dev/null 2>&1; then
  why="no Rust toolchain (cargo) on this machine"
elif ! command -v cmake >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  why="building WiredTiger needs cmake and a C compiler"
else
  mkdir -p "$cache"
  echo "local server: building SecantusDB's Rust server $SECANTUS_RS_VERSION from crates.io"
  echo "  into $rs_root"
  echo "  The first build takes several minutes (about 8 on 2 cores); later runs reuse it."
  echo "  Build log: $log"
  # --ignore-rust-version: the crate declares Rust 1.98; it builds and runs on 1.95.
  # --locked: the crate ships its Cargo.lock, so every dependency is pinned.
  if cargo install secantus-mdb --version "=$SECANTUS_RS_VERSION" --locked \
      --ignore-rust-version --root "$rs_root.tmp" >"$log" 2>&1 \
      && [ -x "$rs_root.tmp/bin/secantusd-rs" ]; then
    rm -rf "$rs_root"
    mv "$rs_root.tmp" "$rs_root"
    echo "local server: SecantusDB Rust server $SECANTUS_RS_VERSION built ($rs_bin)"
    exit 0
  fi
  rm -rf "$rs_root.tmp"
  tail -15 "$log" || true
  cp "$log" "$failed"
  why="the Rust build failed (see $log)"
fi
echo "local server: SecantusDB Python server $SECANTUS_PY_VERSION ($py_bin)"
echo "  is the local server, as a fallback: $why"
