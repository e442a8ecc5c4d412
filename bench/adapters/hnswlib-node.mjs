// hnswlib-node: native C++ hnswlib bindings (a native ceiling, not runnable in a browser).
// Build params: m, efConstruction; search params: ef.
import { createRequire } from "node:module";

const require = createRequire(new URL("../package.json", import.meta.url));

export async function create({ dim, metric, seed = 42 }) {
  const hnswlib = require("hnswlib-node");
  const version = require("hnswlib-node/package.json").version;
  // hnswlib's "cosine" normalizes internally and ranks by inner product; "ip" for dot.
  const space = metric === "l2" ? "l2" : metric === "dot" ? "ip" : "cosine";
  let index = null;
  return {
    library: "hnswlib-node",
    version,
    async build(base, { m = 16, efConstruction = 200 } = {}) {
      index = new hnswlib.HierarchicalNSW(space, dim);
      index.initIndex({ maxElements: base.rows, m, efConstruction, randomSeed: seed });
      for (let r = 0; r < base.rows; r++) {
        index.addPoint(Array.from(base.data.subarray(r * dim, (r + 1) * dim)), r);
      }
      // hnswlib-node reports no memory; approximate: vectors + level-0 links (2m per node).
      return { memoryBytes: base.rows * (dim * 4 + 2 * m * 4 + 8) };
    },
    search(query, k, { ef = 64 } = {}) {
      index.setEf(Math.max(ef, k));
      return index.searchKnn(Array.from(query), k).neighbors;
    },
  };
}
