#!/usr/bin/env bash
# Builds the core as a raw wasm-bindgen module for bench/build-compare.mjs:
#   bash bench/build-compare.sh <name> [extra cargo args…]
# with the profile changes under test passed as environment (e.g.
# CARGO_PROFILE_RELEASE_OPT_LEVEL=z) or cargo args. Each name gets its own target dir, so two
# builds never share artefacts. wasm-opt runs with the package's flags (scripts/build-pkg.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: bash bench/build-compare.sh <name> [cargo args…]}"
shift
target="target/build-compare-cargo/$name"
out="target/build-compare/$name"
cargo build --release --target wasm32-unknown-unknown --lib --target-dir "$target" "$@"
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target nodejs --out-dir "$out" --out-name quiver "$target/wasm32-unknown-unknown/release/quiver.wasm"
node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
  "$out/quiver_bg.wasm" -o "$out/quiver_bg.wasm"
echo "[build-compare] $out: $(wc -c < "$out/quiver_bg.wasm") bytes, $(gzip -9 -c "$out/quiver_bg.wasm" | wc -c) gzip"
