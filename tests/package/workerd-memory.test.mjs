// A Worker's 128 MB (issue 22 part 3): in workerd (Miniflare), a Durable Object builds a
// codes-only store (IVF256,PQ48, keepVectors: false) of 200,000 384-d vectors in its storage
// through DurableObjectStorageAdapter; workerd is restarted on the persisted state and a fresh
// object opens the store with memoryBudget: 128 MiB, answers queries, and reports its memory.
// Locally workerd enforces no limit, so the test measures: the workerd process's resident
// memory (Linux /proc) after a trivial request and after the queries; what the store added
// (isolate heap and WebAssembly memory, which Cloudflare's limit counts) must stay under
// 128 MiB, and so must stats().memoryBytes, under a memoryBudget of 128 MiB.
//
// QUIVER_WORKERD_ITEMS overrides the 200,000 (e.g. 50000 for a quick run).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, miniflareWith } from "./workerd-bundle.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ITEMS = Number(process.env.QUIVER_WORKERD_ITEMS ?? 200_000);
const BATCH = 25_000;
const MiB = 1024 * 1024;
const LIMIT = 128 * MiB;
let work;
let bundle;

// Deterministic data with structure: unit vectors scattered around 512 random centres, so the
// lists and codes behave as on clustered embeddings. A query is a stored vector moved a little:
// its own item should come back first.
const workerSource = `
import { VectorStore, DurableObjectStorageAdapter, isQuiverError } from ${JSON.stringify(join(root, "pkg/dist/workerd.js"))};

const dim = 384;
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
const centres = [];
{
  const r = random(7);
  for (let c = 0; c < 512; c++) centres.push(Float32Array.from({ length: dim }, r));
}
function vector(i, noise = 0.5) {
  const r = random(1000 + i);
  const c = centres[i % 512];
  const v = Float32Array.from({ length: dim }, (_, j) => c[j] + noise * r());
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
}
function nudged(i) {
  const v = vector(i);
  const r = random(77 + i);
  return v.map((x) => x + 0.01 * r());
}

export class Codes {
  constructor(ctx) {
    this.ctx = ctx;
    this.storage = new DurableObjectStorageAdapter(ctx.storage);
  }

  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/build") {
        const from = Number(url.searchParams.get("from"));
        const n = Number(url.searchParams.get("n"));
        const store = from === 0
          ? await VectorStore.create({ name: "codes", storage: this.storage, dimension: dim, index: "IVF256,PQ48", keepVectors: false, seed: 5 })
          : await VectorStore.open({ name: "codes", storage: this.storage });
        for (let s = from; s < from + n; s += 5000) {
          await store.add(Array.from({ length: 5000 }, (_, k) => ({ id: "v" + (s + k), vector: vector(s + k) })));
        }
        await store.save();
        const stats = await store.stats();
        await store.close();
        return Response.json({ count: stats.count, memoryBytes: stats.memoryBytes });
      }
      if (url.pathname === "/ping") return Response.json({ ok: true });
      if (url.pathname === "/query") {
        const started = Date.now();
        const store = await VectorStore.open({ name: "codes", storage: this.storage, memoryBudget: ${LIMIT} });
        const opened = Date.now() - started;
        const total = Number(url.searchParams.get("items"));
        let found = 0;
        const queries = 50;
        for (let q = 0; q < queries; q++) {
          const i = Math.floor((q + 0.5) * total / queries);
          const hits = await store.search({ vector: nudged(i), k: 10 });
          if (hits.some((h) => h.id === "v" + i)) found++;
        }
        const stats = await store.stats();
        return Response.json({ opened, count: stats.count, found, queries, memoryBytes: stats.memoryBytes, memory: stats.memory, budget: stats.memoryBudget, keepVectors: stats.keepVectors });
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return Response.json({ error: String(error), code: isQuiverError(error) ? error.code : undefined }, { status: 500 });
    }
  }
}

export default {
  fetch(request, env) {
    return env.CODES.get(env.CODES.idFromName("one")).fetch(request);
  },
};
`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "quiver-workerd-mem-"));
  bundle = await bundleWorker(work, workerSource);
});

after(() => rmSync(work, { recursive: true, force: true }));

function miniflare(persist) {
  return miniflareWith(bundle, { binding: "CODES", className: "Codes", useSQLite: true, persist });
}

/** Resident bytes of the workerd processes started since `before` (Linux only; else undefined). */
function workerdResident(known) {
  if (!existsSync("/proc/self/status")) return undefined;
  let total = 0;
  let seen = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && !known.has(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.split("\0")[0].endsWith("workerd")) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (rss) {
        total += Number(rss[1]) * 1024;
        seen++;
      }
    } catch {
      // The process ended in between.
    }
  }
  return seen > 0 ? total : undefined;
}

const runningPids = () => new Set(existsSync("/proc") ? readdirSync("/proc").filter((p) => /^\d+$/.test(p)) : []);

test(`a codes-only store of ${ITEMS.toLocaleString("en")} vectors opens and answers in workerd under 128 MiB`, { timeout: 900_000 }, async () => {
  const persist = join(work, "state");
  let mf = await miniflare(persist);
  try {
    for (let from = 0; from < ITEMS; from += BATCH) {
      const res = await mf.dispatchFetch(`http://do/build?from=${from}&n=${Math.min(BATCH, ITEMS - from)}`);
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.count, Math.min(ITEMS, from + BATCH));
    }
  } finally {
    await mf.dispose();
  }
  // A fresh workerd on the persisted state: nothing of the build is in memory.
  const before = runningPids();
  mf = await miniflare(persist);
  try {
    assert.equal((await mf.dispatchFetch("http://do/ping")).status, 200);
    const idle = workerdResident(before);
    const res = await mf.dispatchFetch(`http://do/query?items=${ITEMS}`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const busy = workerdResident(before);
    const resident = busy === undefined || idle === undefined ? undefined : busy - idle;
    const mib = (b) => (b === undefined ? "n/a" : `${(b / MiB).toFixed(1)} MiB`);
    console.log(`workerd: ${ITEMS} codes-only vectors opened in ${body.opened} ms; stats().memoryBytes ${mib(body.memoryBytes)}; workerd RSS ${mib(idle)} idle, ${mib(busy)} after the queries (+${mib(resident)}); ${body.found}/${body.queries} queries found their own item`);
    assert.equal(body.count, ITEMS);
    assert.equal(body.keepVectors, false);
    assert.equal(body.budget, LIMIT);
    assert.ok(body.memoryBytes < LIMIT / 2, `${body.memoryBytes} bytes held`);
    assert.ok(body.found >= body.queries * 0.9, `${body.found} of ${body.queries} queries found their item`);
    if (resident !== undefined) assert.ok(resident < LIMIT, `the store added ${mib(resident)} to workerd`);
  } finally {
    await mf.dispose();
  }
});
