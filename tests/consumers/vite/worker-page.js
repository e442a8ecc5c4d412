// The store runs in Web Workers: one started from the app's own worker script, and one from
// the worker script shipped in the package (`quiver-vectors/worker`). The page's thread never
// loads the .wasm.
import { WorkerVectorStore, isQuiverError } from "quiver-vectors";
import ShippedWorker from "quiver-vectors/worker?worker";
import { scenario } from "./scenario.js";

async function run() {
  const own = new Worker(new URL("./store-worker.js", import.meta.url), { type: "module" });
  const result = await scenario({ create: (o) => WorkerVectorStore.create(own, o), isQuiverError });

  const shipped = new ShippedWorker();
  const store = await WorkerVectorStore.create(shipped, { dimension: 2, metric: "l2" });
  const progress = [];
  const many = Array.from({ length: 5000 }, (_, i) => ({ id: `p${i}`, vector: [i, 0] }));
  await store.add(many, { onProgress: (p) => progress.push(p.done) });
  // 40 chunks, cancelled at the first progress report: the abort message reaches the worker
  // between chunks, and the worker rolls back what it had upserted.
  const more = Array.from({ length: 40 * 4096 }, (_, i) => ({ id: `p${i}`, vector: [i, 1], metadata: { v: 2 } }));
  result.shippedTop = (await store.search({ vector: [41.9, 0], k: 1 }))[0].id;
  result.shippedProgress = progress;
  const controller = new AbortController();
  const cancelled = store.upsert(more, {
    signal: controller.signal,
    onProgress: () => controller.abort(),
  });
  result.cancelled = await cancelled.then(() => "completed", (e) => (e === controller.signal.reason ? e.name : `not the reason: ${e}`));
  result.afterCancel = { p4999: (await store.get("p4999")).metadata ?? null, p9999: (await store.get("p9999")) ?? null };
  result.countAfterCancel = (await store.stats()).count;
  await store.close();
  result.mainThreadWasmFetches = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(".wasm")).length;
  own.terminate();
  shipped.terminate();
  return result;
}

run().then(
  (result) => (document.body.dataset.result = JSON.stringify(result)),
  (error) => (document.body.dataset.error = String(error?.stack ?? error)),
);
