// The steps every consumer project runs against the installed package: create, add, search,
// get, delete, a typed error, save, then a store of a family that needs the full build. It gets the package's exports and a `create` function (the
// in-thread VectorStore or a WorkerVectorStore) and returns what it saw; the test asserts.
//
// Persistence lands separately: until then `save` must be refused with `unsupported`. When it
// lands, extend this with: save, close, reopen with the same storage, search again.
export async function scenario({ create, isQuiverError, storage }) {
  const dim = 8;
  // Deterministic pseudo-random components in [-1, 1) from an integer hash of (i, j).
  const component = (i, j) => {
    let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  };
  const vector = (i) => Float32Array.from({ length: dim }, (_, j) => component(i, j));
  const items = Array.from({ length: 300 }, (_, i) => ({ id: `v${i}`, vector: vector(i), metadata: { i } }));
  const out = {};
  const store = await create({ name: "consumer", dimension: dim, metric: "cosine", ...(storage ? { storage } : {}) });
  await store.add(items);
  out.vectorsIntact = items.every((item) => item.vector.length === dim); // nothing was detached
  const hits = await store.search({ vector: vector(17), k: 3 });
  out.top = hits[0].id;
  out.topMetadata = hits[0].metadata;
  out.hits = hits.length;
  const stats = await store.stats();
  out.count = stats.count;
  out.simd = stats.simd;
  const got = await store.get("v5");
  out.getVectorLength = got.vector.length;
  out.deleted = await store.delete(["v0", "v1"]);
  out.countAfterDelete = (await store.stats()).count;
  try {
    await store.search({ vector: new Float32Array(3), k: 1 });
  } catch (error) {
    out.errorCode = isQuiverError(error) ? error.code : `untyped: ${error}`;
  }
  try {
    await store.save();
    out.saved = true;
  } catch (error) {
    out.saveError = isQuiverError(error) ? error.code : `untyped: ${error}`;
  }
  await store.close();
  out.closed = store.closed;

  // A family outside the lean build: the package loads its full build for this store.
  const ivf = await create({ name: "consumer-ivf", dimension: dim, metric: "cosine", index: "IVF4,SQ8", seed: 1 });
  await ivf.add(items);
  out.fullBuildTop = (await ivf.search({ vector: vector(17), k: 3 }))[0].id;
  out.fullBuildIndex = (await ivf.stats()).index;
  await ivf.close();
  return out;
}
