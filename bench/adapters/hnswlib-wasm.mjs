// hnswlib-wasm: hnswlib compiled with Emscripten for browsers. Its single-file build refuses to
// start outside a browser unless `window` exists, and mounts IDBFS (absent in Node, which only
// logs an error); the in-memory index works. Build params: m, efConstruction; search: ef.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../package.json", import.meta.url));

export async function create({ dim, metric, seed = 42 }) {
  globalThis.window ??= globalThis;
  const dist = new URL("../node_modules/hnswlib-wasm/dist/", import.meta.url);
  const { loadHnswlib } = await import(new URL("hnswlib.js", dist));
  const lib = await loadHnswlib();
  const version = require("hnswlib-wasm/package.json").version;
  // The .wasm is embedded in the JS as base64; extract it so its size can be reported.
  let wasmFiles = [];
  try {
    const js = readFileSync(new URL("hnswlib-317962d7.js", dist), "latin1");
    const b64 = /data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)/.exec(js)?.[1];
    if (b64) {
      const path = join(tmpdir(), `hnswlib-wasm-${version}.wasm`);
      writeFileSync(path, Buffer.from(b64, "base64"));
      wasmFiles = [path];
    }
  } catch {
    // Size unknown: not fatal.
  }
  const space = metric === "l2" ? "l2" : metric === "dot" ? "ip" : "cosine";
  let index = null;
  return {
    library: "hnswlib-wasm",
    version,
    wasmFiles,
    async build(base, { m = 16, efConstruction = 200 } = {}) {
      index = new lib.HierarchicalNSW(space, dim, "");
      index.initIndex(base.rows, m, efConstruction, seed);
      const batch = 1000;
      for (let start = 0; start < base.rows; start += batch) {
        const end = Math.min(base.rows, start + batch);
        const items = [];
        const labels = [];
        for (let r = start; r < end; r++) {
          items.push(base.data.slice(r * dim, (r + 1) * dim));
          labels.push(r);
        }
        index.addPoints(items, labels, false);
      }
      return { memoryBytes: base.rows * (dim * 4 + 2 * m * 4 + 8) };
    },
    search(query, k, { ef = 64 } = {}) {
      index.setEfSearch(Math.max(ef, k));
      return index.searchKnn(query, k, undefined).neighbors;
    },
  };
}
