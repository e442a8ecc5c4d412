#!/usr/bin/env bash
# Builds the demo into www/dist from the *packed* npm package, as a user would consume it:
# `npm pack` of pkg/, installed into www/dist/node_modules, plus the page and the embedded
# default corpus (tests/fixtures/minilm-3k: 3000 passages with MiniLM embeddings).
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
echo "[demo] www/dist ready"
