#!/usr/bin/env bash
# Builds the demo into www/dist from the *packed* npm package, as a user would consume it:
# `npm pack` of pkg/, installed into www/dist/node_modules, plus the page and the embedded
# default corpus (tests/fixtures/minilm-3k: 3000 passages with MiniLM embeddings), the
# embedding worker bundled with esbuild, the int8 model (from scripts/fetch-model.sh) and ONNX
# Runtime's WebAssembly files, so live embedding works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/package.json ] || bash scripts/build-pkg.sh

rm -rf www/dist
mkdir -p www/dist/node_modules/quiver-vectors www/dist/data
tarball=$(cd pkg && npm pack --silent --pack-destination ../www/dist)
tar -xzf "www/dist/$tarball" -C www/dist/node_modules/quiver-vectors --strip-components=1
rm "www/dist/$tarball"
cp www/index.html www/app.js www/worker.js www/style.css www/dist/
for f in base.fvecs query.fvecs texts.jsonl metadata.jsonl query-texts.jsonl; do
  cp "tests/fixtures/minilm-3k/$f" www/dist/data/
done

# Live embedding: the worker bundle, the model files it loads, ONNX Runtime's wasm.
model=$(bash scripts/fetch-model.sh)
mkdir -p www/dist/models/all-MiniLM-L6-v2/onnx www/dist/ort
cp "$model"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json} www/dist/models/all-MiniLM-L6-v2/
cp "$model/onnx/model_quantized.onnx" www/dist/models/all-MiniLM-L6-v2/onnx/
cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.{mjs,wasm} www/dist/ort/
cp www/embed-worker.js www/dist/embed-worker.src.js
node_modules/.bin/esbuild www/dist/embed-worker.src.js --bundle --format=esm --platform=browser \
  --log-level=warning --outfile=www/dist/embed-worker.js
rm www/dist/embed-worker.src.js
echo "[demo] www/dist ready"
