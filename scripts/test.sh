#!/usr/bin/env bash
# Runs every test: formatting and lints, the native Rust suites, the wasm suites under Node and
# in headless Chromium, then the built package's JavaScript tests. Installs what is missing
# first (scripts/setup.sh), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$(date +%s)

bash scripts/setup.sh

step "cargo fmt --all --check"
cargo fmt --all --check

step "layering: dependencies point one way (scripts/check-layers.mjs, docs/architecture.md)"
node scripts/check-layers.mjs

step "cargo clippy (native and wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings
# The lean build (no `full` feature: Flat and HNSW) that the package ships by default.
cargo clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings

step "native tests (cargo test --release)"
cargo test --release
# The lean build refuses the full build's families with a message that says where they are.
cargo test --release --lib --no-default-features api::tests::spec_availability

step "doc tests and docs build"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

# --tests: doctests cross-run on wasm32 report ok even when they fail; they run natively above.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# The quantized recall checks train PQ codebooks in the page: more than the runner's default 20 s
# on a loaded machine.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
# wasm-bindgen-test-runner writes its JS shims under $TMPDIR; a package.json with "type": "module"
# in any folder above them would make Node misread them, so give the runner a folder of its own
# outside the repository (whose root package.json is such a file).
wasm_tmp=$(mktemp -d /var/tmp/quiver-wasm-test.XXXXXX)
trap 'rm -rf "$wasm_tmp"' EXIT
step "wasm tests in Node"
TMPDIR="$wasm_tmp" WASM_BINDGEN_TEST_ONLY_NODE=1 cargo test --profile test-opt --target wasm32-unknown-unknown --tests

step "wasm tests in headless Chromium"
TMPDIR="$wasm_tmp" WASM_BINDGEN_USE_BROWSER=1 cargo test --profile test-opt --target wasm32-unknown-unknown --tests
unset CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER

step "build the npm package"
bash scripts/build-pkg.sh

step "build the demo from the packed package"
bash scripts/build-demo.sh

step "size report (budget: size-budget.json, checked by tests/package/size.test.mjs)"
node bench/package-size.mjs

step "package tests: API, bad input, worker front end, size budget, packed-tarball consumers (Node, Deno, workerd, Vite + Chromium, Web Worker), types, README, demo"
node --test tests/package/

step "quick benchmark (bench/run.sh --quick: flat SIMD vs scalar vs JS vs bandwidth floor)" && bash bench/run.sh --quick

step "scale check (bench/scale.mjs at 100k: recall@10 >= 0.9, memory per family; skips without the dev set)"
node bench/scale.mjs --sizes 100k --specs "HNSW16;IVF1024,PQ48" --queries 100 --check-recall 0.9

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
