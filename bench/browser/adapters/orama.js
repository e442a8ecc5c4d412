// @orama/orama in the browser (its `browser` ES build, relative imports only): the same calls
// as bench/adapters/orama.mjs. Pure JS, exact linear scan with cosine similarity, threshold -1
// so k hits always exist, a full sort of every hit; cosine only; plain arrays on insert.
export async function create({ dim, metric }) {
  if (metric !== "cosine") throw new Error(`@orama/orama vector search is cosine only, not ${metric}`);
  const orama = await import("/bench/node_modules/@orama/orama/dist/browser/index.js");
  const version = (await (await fetch("/bench/node_modules/@orama/orama/package.json")).json()).version;
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
