#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, idempotently, on a fresh machine:
# the wasm32 target, the package's pinned nightly (scripts/package-toolchain) with rust-src, wasm-bindgen-cli at the exact version in Cargo.lock, Chromium and
# chromedriver from apt, the npm dev dependencies and the embedding model (scripts/fetch-model.sh). Safe to run again: each step is skipped
# when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The package's pinned nightly (scripts/build-pkg.sh says why), with the standard library's
# source for -Z build-std; about 10 s from the Rust release server.
package_toolchain=$(cat scripts/package-toolchain)
if ! rustup run "$package_toolchain" rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustup run "$package_toolchain" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  log "installing the package toolchain $package_toolchain with rust-src"
  rustup toolchain install "$package_toolchain" --profile minimal --component rust-src
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate version in Cargo.lock exactly.
if [ ! -f Cargo.lock ]; then cargo generate-lockfile; fi
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  log "installing wasm-bindgen-cli $want (have: ${have:-none}); takes 5-9 minutes cold"
  # No --locked: the registry mirror lacks some locked transitive versions.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from apt"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dev dependencies"
  # onnxruntime-node's postinstall would fetch optional CUDA files from nuget.org (unreachable).
  export ONNXRUNTIME_NODE_INSTALL=skip
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi
# The local embedding model (all-MiniLM-L6-v2 as ONNX, outside git in $QUIVER_CACHE), for the
# embedder's tests, benchmarks and the live demo.
bash scripts/fetch-model.sh >/dev/null
log "ready"
