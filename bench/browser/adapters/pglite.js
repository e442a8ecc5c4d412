// PGlite + pgvector in the browser: the same SQL as bench/adapters/pglite.mjs (flat = sequential
// scan + top-N sort; hnsw = pgvector's HNSW built by CREATE INDEX after the rows are in; ef ->
// SET hnsw.ef_search; vectors as pgvector text), in an in-memory database (no IndexedDB or
// OPFS: the same storage as the Node runs). The packages are plain ES modules with relative
// imports, served from bench/node_modules; PGlite fetches pglite.wasm, pglite.data and
// initdb.wasm, and pgvector's vector.tar.gz, beside its modules.
const ops = { cosine: ["<=>", "vector_cosine_ops"], l2: ["<->", "vector_l2_ops"], dot: ["<#>", "vector_ip_ops"] };
const text = (v) => `[${Array.from(v).join(",")}]`;

export async function create({ dim, metric }) {
  const dist = "/bench/node_modules/@electric-sql/pglite/dist/";
  const { PGlite } = await import(`${dist}index.js`);
  const { vector } = await import("/bench/node_modules/@electric-sql/pglite-pgvector/dist/index.js");
  const version = (await (await fetch("/bench/node_modules/@electric-sql/pglite/package.json")).json()).version;
  const [op, opclass] = ops[metric];
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const pgvector = (await db.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).rows[0].extversion;
  let ef = null;
  const sql = `SELECT id FROM items ORDER BY v ${op} $1::vector LIMIT $2`;
  return {
    library: "pglite",
    version: `${version} (pgvector ${pgvector})`,
    wasmFiles: [`bench/node_modules/@electric-sql/pglite/dist/pglite.wasm`],
    async build(base, { index = "flat", m = 16, efConstruction = 200 } = {}) {
      await db.exec(`CREATE TABLE items (id int4 PRIMARY KEY, v vector(${dim}))`);
      const batch = 500;
      for (let start = 0; start < base.rows; start += batch) {
        const end = Math.min(base.rows, start + batch);
        const ids = [];
        const vecs = [];
        for (let r = start; r < end; r++) {
          ids.push(r);
          vecs.push(text(base.data.subarray(r * dim, (r + 1) * dim)));
        }
        await db.query("INSERT INTO items SELECT i, t::vector FROM unnest($1::int4[], $2::text[]) AS u(i, t)", [ids, vecs]);
      }
      if (index === "hnsw") {
        await db.exec("SET maintenance_work_mem = '512MB'");
        await db.exec(`CREATE INDEX ON items USING hnsw (v ${opclass}) WITH (m = ${m}, ef_construction = ${efConstruction})`);
      } else if (index !== "flat") {
        throw new Error(`unknown index ${index}`);
      }
      await db.exec("VACUUM ANALYZE items");
      const size = (await db.query("SELECT pg_total_relation_size('items') AS b")).rows[0].b;
      return { memoryBytes: Number(size) };
    },
    async search(query, k, params = {}) {
      if (params.ef !== undefined && params.ef !== ef) {
        await db.exec(`SET hnsw.ef_search = ${Number(params.ef)}`);
        ef = params.ef;
      }
      const res = await db.query(sql, [text(query), k], { rowMode: "array" });
      return res.rows.map((row) => row[0]);
    },
    free() {
      db.close();
    },
  };
}
