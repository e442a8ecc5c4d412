#!/usr/bin/env bash
# Builds the npm package into pkg/ from pkg-template/:
#   1. the Rust core to wasm32 with +simd128 (from .cargo/config.toml), release profile, twice:
#      the lean build (wasm/: Flat and HNSW) and the full one (wasm/full/: every family);
#   2. JS bindings with wasm-bindgen-cli (pinned to Cargo.lock's wasm-bindgen), --target web,
#      which every runtime can load (browsers and workers by URL, Node and Deno from bytes,
#      workerd from an imported module);
#   3. wasm-opt from the npm `binaryen` package (Debian's binaryen 108 breaks the module);
#   4. the hand-written TypeScript API compiled with tsc, plus package.json and README.
# Set QUIVER_SCALAR=1 to build the scalar twin (no SIMD128) into pkg-scalar/ for benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=pkg
target_dir=target/pkg
simd="+simd128"
if [ "${QUIVER_SCALAR:-0}" = 1 ]; then
  out=pkg-scalar
  target_dir=target/pkg-scalar
  # -simd128: the scalar kernels are chosen and LLVM cannot auto-vectorize anything else either.
  simd="-simd128"
fi

# The package is built with a pinned nightly (scripts/package-toolchain, installed by
# scripts/setup.sh) so that the standard library is rebuilt with the release profile and without
# what a wasm page never uses: panic messages and their file locations (a panic is a trap either
# way; the core returns errors, it does not panic on input) and `Debug` formatting (messages use
# `error::Quoted`). Measured in bench/README.md, "Package size": 16.8 KB gzip off the lean .wasm,
# QPS unchanged. `cargo test`, clippy and the wasm test suites stay on stable.
toolchain=$(cat scripts/package-toolchain)
# RUSTFLAGS replaces .cargo/config.toml's flags, so the SIMD choice is restated here.
rustflags="-C target-feature=$simd -C panic=immediate-abort -Z unstable-options -Z location-detail=none -Z fmt-debug=none"

features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
[ -z "$rustflags" ] && features+=(--enable-simd)

# build <cargo feature args> <output folder under $out/> <name>: one build of the core, bound and
# optimised; the raw module is kept as target/.../release/quiver-<name>.wasm (for the size
# breakdown of bench/package-size.mjs). The lean build (--no-default-features: Flat and HNSW) is what every page downloads;
# the full build (every family) sits in wasm/full/ and is loaded only by stores that need it.
build() {
  local dir="$out/$2"
  echo "[build] cargo +$toolchain build --release --target wasm32-unknown-unknown -Z build-std=std,panic_abort $1 ($rustflags)"
  RUSTFLAGS="$rustflags" cargo "+$toolchain" build --release --target wasm32-unknown-unknown \
    -Z build-std=std,panic_abort --target-dir "$target_dir" --lib $1
  mkdir -p "$dir"
  cp "$target_dir/wasm32-unknown-unknown/release/quiver.wasm" "$target_dir/wasm32-unknown-unknown/release/quiver-$3.wasm"
  wasm-bindgen --target web --out-dir "$dir" --out-name quiver \
    "$target_dir/wasm32-unknown-unknown/release/quiver-$3.wasm"
  node_modules/.bin/wasm-opt -O3 "${features[@]}" "$dir/quiver_bg.wasm" -o "$dir/quiver_bg.opt.wasm"
  mv "$dir/quiver_bg.opt.wasm" "$dir/quiver_bg.wasm"
}

rm -rf "$out"
build --no-default-features wasm lean
build "" wasm/full full

cp pkg-template/package.json pkg-template/README.md pkg-template/tsconfig.json "$out/"
cp -r pkg-template/src "$out/src"
(cd "$out" && ../node_modules/.bin/tsc -p tsconfig.json)
rm -rf "$out/src" "$out/tsconfig.json"

for f in wasm/quiver_bg.wasm wasm/full/quiver_bg.wasm; do
  echo "[build] $out/$f: $(stat -c %s "$out/$f") bytes ($(gzip -9 -c "$out/$f" | wc -c) gzip)"
done
