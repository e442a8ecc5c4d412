// @orama/orama (pure TypeScript full-text + vector search engine). Its vector search is an exact
// linear scan: cosine similarity of the query against every stored vector (magnitudes cached at
// insert), keeping every hit above a similarity threshold (default 0.8, set to -1 here so the
// top k always exist), then a full sort of all hits; no ANN index, no parameters.
// Metric: cosine only (l2 and dot throw, reported as skipped).
// Insert validation wants plain arrays (a Float32Array is rejected as "not a 384-dimensional
// vector"); queries may be Float32Array.
// Ids: documents are `{ id: String(row), embedding: vector[dim] }`; hits return our string id,
// mapped back with Number(id). Orama stores the document and the vector separately (the vector
// index keeps its own Float32Array), and `search` nulls the vector field of each returned
// document unless includeVectors is set; the vector index is unaffected.
// search() may return a Promise in Orama 3 (async hooks); the session awaits it either way.
import { createRequire } from "node:module";

const require = createRequire(new URL("../package.json", import.meta.url));

export async function create({ dim, metric }) {
  if (metric !== "cosine") throw new Error(`@orama/orama vector search is cosine only, not ${metric}`);
  const orama = await import(new URL("../node_modules/@orama/orama/dist/esm/index.js", import.meta.url));
  const version = require("@orama/orama/package.json").version;
  let db = null;
  const toIds = (result) => result.hits.map((h) => Number(h.id));
  return {
    library: "orama",
    version,
    async build(base) {
      db = orama.create({ schema: { id: "string", embedding: `vector[${dim}]` } });
      const docs = new Array(base.rows);
      for (let r = 0; r < base.rows; r++) docs[r] = { id: String(r), embedding: Array.from(base.data.subarray(r * dim, (r + 1) * dim)) };
      await orama.insertMultiple(db, docs, 1000);
      return {};
    },
    search(query, k) {
      const out = orama.search(db, { mode: "vector", vector: { value: query, property: "embedding" }, similarity: -1, limit: k, includeVectors: false });
      return out instanceof Promise ? out.then(toIds) : toIds(out);
    },
  };
}
