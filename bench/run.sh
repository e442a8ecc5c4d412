#!/usr/bin/env bash
# One command for every benchmark: `bash bench/run.sh [DATA] [--quick] [options]`.
# Builds what is missing or stale (the SIMD package in pkg/, its scalar twin in pkg-scalar/,
# and, for full runs, the peers' npm packages in bench/node_modules), then runs bench/run.mjs.
# DATA: a TEXMEX folder, or one .fvecs / .npy file. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
  [ "$arg" = --quick ] && quick=1
  if [ "$arg" = --help ] || [ "$arg" = -h ]; then exec node bench/run.mjs --help; fi
done

[ -x node_modules/.bin/wasm-opt ] || bash scripts/setup.sh >&2

# A package is stale when any input of scripts/build-pkg.sh is newer than its .wasm.
stale() {
  local wasm="$1/wasm/quiver_bg.wasm"
  [ -f "$wasm" ] || return 0
  [ -n "$(find src Cargo.toml Cargo.lock pkg-template scripts/build-pkg.sh .cargo -newer "$wasm" -print -quit 2>/dev/null)" ]
}
# Build logs go to stderr: stdout carries only the JSON lines and the tables.
if stale pkg; then bash scripts/build-pkg.sh >&2; fi
if stale pkg-scalar; then QUIVER_SCALAR=1 bash scripts/build-pkg.sh >&2; fi

# Peers are only for full runs, and never installed by CI (the quick run needs none of them).
# A peer that fails to install is reported as skipped by the suite.
# (Re)installed when missing or when bench/package.json changed since the last install.
if [ "$quick" = 0 ] && { [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package.json -nt bench/node_modules/.package-lock.json ]; }; then
  echo "[bench] installing peer libraries into bench/node_modules" >&2
  (cd bench && npm install --no-audit --no-fund >&2) || echo "[bench] warning: some peers failed to install" >&2
fi

exec node bench/run.mjs "$@"
