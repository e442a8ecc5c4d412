// PGlite (Postgres 17 compiled to wasm with Emscripten) with the pgvector extension, which ships
// as its own package since PGlite 0.5 (`@electric-sql/pglite-pgvector`, pinned to the PGlite
// version it was built for: 0.0.15 needs PGlite 0.5.14 exactly; PGlite 0.3 had it as
// `@electric-sql/pglite/vector`).
// Build params: `index: "flat"` (no index: every query is an exact sequential scan with a sort
// on the distance) or `index: "hnsw"` with m, efConstruction (pgvector's HNSW, built by
// CREATE INDEX after the rows are in, with maintenance_work_mem large enough that the graph is
// built in memory). Search params: ef -> `SET hnsw.ef_search` (pgvector returns at most
// ef_search rows, so ef < k would return fewer than k).
// Metric: cosine (`<=>`, vector_cosine_ops), l2 (`<->`, vector_l2_ops), dot (`<#>`, negative
// inner product, vector_ip_ops): all three native.
// Ids: the row index is the integer primary key; `SELECT id ... ORDER BY v <=> $1 LIMIT k`
// returns it directly. Vectors cross into SQL as pgvector's text form '[x,y,...]' (the
// per-query parse and the wire protocol are part of what a PGlite user pays).
// Memory: pg_total_relation_size of the table (+ its index), i.e. Postgres pages, not the wasm
// heap. Size: wasmFiles lists pglite.wasm only; the Postgres data bundle (pglite.data) and
// pgvector's side module (vector.tar.gz) are extra downloads, noted in bench/README.md.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ops = { cosine: ["<=>", "vector_cosine_ops"], l2: ["<->", "vector_l2_ops"], dot: ["<#>", "vector_ip_ops"] };
const text = (v) => `[${Array.from(v).join(",")}]`;

export async function create({ dim, metric }) {
  const dist = new URL("../node_modules/@electric-sql/pglite/dist/", import.meta.url);
  const { PGlite } = await import(new URL("index.js", dist));
  const { vector } = await import(new URL("../node_modules/@electric-sql/pglite-pgvector/dist/index.js", import.meta.url));
  // The package does not export ./package.json.
  const version = JSON.parse(readFileSync(new URL("../package.json", dist), "utf8")).version;
  const [op, opclass] = ops[metric];
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  const pgvector = (await db.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).rows[0].extversion;
  let ef = null;
  const sql = `SELECT id FROM items ORDER BY v ${op} $1::vector LIMIT $2`;
  return {
    library: "pglite",
    version: `${version} (pgvector ${pgvector})`,
    wasmFiles: [fileURLToPath(new URL("pglite.wasm", dist))],
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
