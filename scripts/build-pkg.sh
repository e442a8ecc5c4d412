#!/usr/bin/env bash
# Builds the npm package into pkg/ from pkg-template/:
#   1. the Rust core to wasm32 with +simd128 (from .cargo/config.toml), release profile;
#   2. JS bindings with wasm-bindgen-cli (pinned to Cargo.lock's wasm-bindgen), --target web,
#      which every runtime can load (browsers and workers by URL, Node and Deno from bytes,
#      workerd from an imported module);
#   3. wasm-opt from the npm `binaryen` package (Debian's binaryen 108 breaks the module);
#   4. the hand-written TypeScript API compiled with tsc, plus package.json and README.
# Set QUIVER_SCALAR=1 to build the scalar twin (no SIMD128) into pkg-scalar/ for benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=pkg
target_dir=target
rustflags=""
if [ "${QUIVER_SCALAR:-0}" = 1 ]; then
  out=pkg-scalar
  target_dir=target/scalar
  # RUSTFLAGS overrides the +simd128 of .cargo/config.toml, so the scalar kernels are chosen
  # and LLVM cannot auto-vectorize anything else either.
  rustflags="-C target-feature=-simd128"
fi

echo "[build] cargo build --release --target wasm32-unknown-unknown ${rustflags:+($rustflags)}"
if [ -n "$rustflags" ]; then
  RUSTFLAGS="$rustflags" cargo build --release --target wasm32-unknown-unknown --target-dir "$target_dir" --lib
else
  cargo build --release --target wasm32-unknown-unknown --target-dir "$target_dir" --lib
fi

rm -rf "$out"
mkdir -p "$out/wasm"
wasm-bindgen --target web --out-dir "$out/wasm" --out-name quiver \
  "$target_dir/wasm32-unknown-unknown/release/quiver.wasm"

features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
[ -z "$rustflags" ] && features+=(--enable-simd)
node_modules/.bin/wasm-opt -O3 "${features[@]}" "$out/wasm/quiver_bg.wasm" -o "$out/wasm/quiver_bg.opt.wasm"
mv "$out/wasm/quiver_bg.opt.wasm" "$out/wasm/quiver_bg.wasm"

cp pkg-template/package.json pkg-template/README.md pkg-template/tsconfig.json "$out/"
cp -r pkg-template/src "$out/src"
(cd "$out" && ../node_modules/.bin/tsc -p tsconfig.json)
rm -rf "$out/src" "$out/tsconfig.json"

raw=$(stat -c %s "$out/wasm/quiver_bg.wasm")
gz=$(gzip -9 -c "$out/wasm/quiver_bg.wasm" | wc -c)
echo "[build] $out/ ready: quiver_bg.wasm $raw bytes ($gz gzip)"
