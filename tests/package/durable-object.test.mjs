// Persistence in Cloudflare Workers: a Durable Object keeps a store in its storage through
// DurableObjectStorageAdapter, run in workerd by Miniflare (both storage backends). The store
// is saved, workerd is restarted on the same persisted state, and the reopened store answers
// exactly as before; values above the per-key limits are split and joined transparently.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, miniflareWith } from "./workerd-bundle.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
let work;
let bundle;

const workerSource = `
import { VectorStore, DurableObjectStorageAdapter, isQuiverError } from ${JSON.stringify(join(root, "pkg/dist/workerd.js"))};

const dim = 16;
function vector(i) {
  return Float32Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}

export class Vectors {
  constructor(ctx) {
    this.ctx = ctx;
    this.storage = new DurableObjectStorageAdapter(ctx.storage);
  }

  async answers(store) {
    const out = [];
    for (let q = 0; q < 5; q++) out.push(await store.search({ vector: vector(90_000 + q), k: 8 }));
    return out;
  }

  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/write") {
        const from = Number(url.searchParams.get("from"));
        const n = Number(url.searchParams.get("n"));
        const store = await VectorStore.open({ name: "docs", storage: this.storage, dimension: dim });
        await store.add(Array.from({ length: n }, (_, k) => ({ id: "d" + (from + k), vector: vector(from + k), metadata: { k: from + k } })));
        if (from > 0) await store.delete(["d" + (from - 1)]);
        await store.save();
        const result = { count: (await store.stats()).count, answers: await this.answers(store) };
        await store.close();
        return Response.json(result);
      }
      if (url.pathname === "/read") {
        const store = await VectorStore.open({ name: "docs", storage: this.storage });
        const result = { count: (await store.stats()).count, answers: await this.answers(store) };
        await store.close();
        return Response.json(result);
      }
      if (url.pathname === "/raw") {
        // Values far above both backends' per-key limits round-trip, atomically with the rest.
        const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 255);
        await this.storage.saveBatch([{ key: "raw/big", bytes: big }, { key: "raw/small", bytes: new Uint8Array([1, 2, 3]) }], []);
        const loaded = await this.storage.load("raw/big");
        const range = await this.storage.loadRange("raw/");
        const same = loaded.length === big.length && loaded.every((b, i) => b === big[i]);
        const smaller = new Uint8Array(200 * 1024).fill(7);
        await this.storage.saveBatch([{ key: "raw/big", bytes: smaller }], ["raw/small"]);
        const keys = [...(await this.ctx.storage.list()).keys()];
        return Response.json({ same, range: range.map((e) => [e.key, e.bytes.length]), after: (await this.storage.load("raw/big")).length, partKeys: keys.filter((k) => k.startsWith("\\u0001part/raw/")).length, small: (await this.storage.load("raw/small")) === undefined });
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return Response.json({ error: String(error), code: isQuiverError(error) ? error.code : undefined }, { status: 500 });
    }
  }
}

export default {
  fetch(request, env) {
    return env.VECTORS.get(env.VECTORS.idFromName("one")).fetch(request);
  },
};
`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "quiver-do-"));
  bundle = await bundleWorker(work, workerSource);
});

after(() => rmSync(work, { recursive: true, force: true }));

function miniflare(persist, useSQLite) {
  return miniflareWith(bundle, { binding: "VECTORS", className: "Vectors", useSQLite, persist });
}

for (const useSQLite of [false, true]) {
  const backend = useSQLite ? "SQLite-backed" : "KV-backed";
  test(`Durable Object (${backend}): save, restart workerd, reopen with identical results`, async () => {
    const persist = join(work, `state-${useSQLite}`);
    let mf = await miniflare(persist, useSQLite);
    let results = [];
    try {
      for (const [from, n] of [[0, 3000], [3000, 200], [3200, 1]]) {
        const res = await mf.dispatchFetch(`http://do/write?from=${from}&n=${n}`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        results.push(body);
      }
      assert.equal(results.at(-1).count, 3199);
    } finally {
      await mf.dispose();
    }
    mf = await miniflare(persist, useSQLite);
    try {
      const res = await mf.dispatchFetch("http://do/read");
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.count, 3199);
      assert.deepEqual(body.answers, results.at(-1).answers);
      const raw = await (await mf.dispatchFetch("http://do/raw")).json();
      assert.deepEqual(raw, {
        same: true,
        range: [["raw/big", 3 * 1024 * 1024 + 17], ["raw/small", 3]],
        after: 200 * 1024,
        partKeys: 2,
        small: true,
      });
    } finally {
      await mf.dispose();
    }
  });
}
