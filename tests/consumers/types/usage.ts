// Type tests of the published declarations, compiled (never run) by `tsc --noEmit` inside a
// consumer project that installed the packed tarball. Each `@ts-expect-error` line is misuse
// that must fail to compile; tsc reports an unused `@ts-expect-error` as an error, so a type
// that became too loose fails this test.
import {
  init,
  isQuiverError,
  MemoryStorage,
  QuiverError,
  serveWorker,
  VectorStore,
  WorkerVectorStore,
  type Filter,
  type Item,
  type Metric,
  type Progress,
  type QuiverErrorCode,
  type QuiverStore,
  type SearchHit,
  type StorageAdapter,
  type StoredItem,
  type StoredMetadata,
  type StoreStats,
  type MetricEvent,
  type RecallReport,
  type TuneResult,
} from "quiver-vectors";

declare const worker: {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: string, listener: (event: any) => void): void;
};

interface Doc {
  title: string;
  year?: number;
}

export async function positive(): Promise<void> {
  await init();
  const store: VectorStore = await VectorStore.create({ dimension: 3 });
  const typed = await VectorStore.create<Doc>({ name: "docs", dimension: 3, metric: "l2", index: "Flat", seed: 1, storage: new MemoryStorage() });
  await store.add([{ id: "a", vector: [1, 2, 3] }, { id: "b", vector: new Float32Array(3), metadata: { any: ["json", 1, null] } }]);
  await typed.upsert([{ id: "a", vector: [1, 2, 3], metadata: { title: "x", year: 2020 } }], {
    signal: new AbortController().signal,
    onProgress: (p: Progress) => void p.done,
  });
  const hits: SearchHit<Doc>[] = await typed.search({ vector: [1, 2, 3], k: 5, params: { efSearch: 64, nprobe: 8, rerank: 0 } });
  const title: string | undefined = hits[0]?.metadata?.title;
  void title;
  const item: StoredItem<Doc> | undefined = await typed.get("a");
  const vector: Float32Array | undefined = item?.vector;
  void vector;
  const deleted: number = await store.delete(["a", "b"]);
  await store.delete("a").catch(() => deleted);
  const stats: StoreStats = await store.stats();
  const metric: Metric = stats.metric;
  void metric;
  const filter: Filter = { category: "book", year: { $gte: 2020 }, $or: [{ tag: { $in: ["a", "b"] } }] };
  await store.search({ vector: [1, 2, 3], k: 1, filter }).catch(() => undefined);
  await store.save().catch((e: unknown) => {
    if (isQuiverError(e, "unsupported")) {
      const code: QuiverErrorCode = e.code;
      void code;
    }
    if (e instanceof QuiverError) void e.code;
  });
  const opened = await VectorStore.open({ name: "docs", storage: new MemoryStorage(), dimension: 3 });
  const stores: QuiverStore[] = [store, opened, await WorkerVectorStore.create(worker, { dimension: 3 })];
  for (const s of stores) await s.close();
  const remote = await WorkerVectorStore.open<Doc>(worker, { name: "docs", dimension: 3 });
  const remoteHits: SearchHit<Doc>[] = await remote.search({ vector: [1, 2, 3], k: 1 });
  void remoteHits;
  const adapter: StorageAdapter = new MemoryStorage();
  await adapter.saveBatch([{ key: "docs/x", bytes: new Uint8Array(1) }], []);
  const stop: () => void = serveWorker({ storage: () => adapter });
  stop();
  const items: Item<Doc>[] = [{ id: "x", vector: [1, 2, 3], metadata: { title: "t" } }];
  void items;
}

export async function negative(store: VectorStore, typed: VectorStore<Doc>): Promise<void> {
  // @ts-expect-error dimension is required
  await VectorStore.create({});
  // @ts-expect-error unknown metric
  await VectorStore.create({ dimension: 3, metric: "manhattan" });
  // @ts-expect-error dimension must be a number
  await VectorStore.create({ dimension: "3" });
  // @ts-expect-error open needs storage
  await VectorStore.open({ name: "docs", dimension: 3 });
  // @ts-expect-error storage lives in the worker
  await WorkerVectorStore.create(worker, { dimension: 3, storage: new MemoryStorage() });
  // @ts-expect-error items must be an array
  await store.add({ id: "a", vector: [1, 2, 3] });
  // @ts-expect-error ids are strings
  await store.add([{ id: 1, vector: [1, 2, 3] }]);
  // @ts-expect-error vector is required
  await store.add([{ id: "a" }]);
  // @ts-expect-error a Float64Array is not a vector
  await store.add([{ id: "a", vector: new Float64Array(3) }]);
  // @ts-expect-error vectors hold numbers
  await store.add([{ id: "a", vector: ["1", "2", "3"] }]);
  // @ts-expect-error metadata is an object
  await store.add([{ id: "a", vector: [1, 2, 3], metadata: "tag" }]);
  // @ts-expect-error metadata must match the store's type
  await typed.add([{ id: "a", vector: [1, 2, 3], metadata: { title: 5 } }]);
  // @ts-expect-error k is required
  await store.search({ vector: [1, 2, 3] });
  // @ts-expect-error the query is a request object
  await store.search([1, 2, 3], 5);
  // @ts-expect-error unknown search parameter
  await store.search({ vector: [1, 2, 3], k: 1, params: { ef: 10 } });
  // @ts-expect-error a filter is an object
  await store.search({ vector: [1, 2, 3], k: 1, filter: "year > 2020" });
  // @ts-expect-error ids are strings
  await store.get(5);
  // @ts-expect-error ids are strings
  await store.delete([1, 2]);
  // @ts-expect-error onProgress receives a Progress
  await store.add([], { onProgress: (p: string) => p });
  // @ts-expect-error the name is read-only
  store.name = "other";
  // @ts-expect-error not an error code
  const code: QuiverErrorCode = "oops";
  void code;
  // @ts-expect-error the constructor is private: use create or open
  new VectorStore();
}

export async function metrics(): Promise<void> {
  const events: MetricEvent[] = [];
  const store = await VectorStore.create({ dimension: 3, index: "HNSW16", metrics: true, onMetric: (e) => events.push(e) });
  const stats: StoreStats = await store.stats();
  const p99: number = stats.search.latencyMs.p99;
  const graph: number = stats.memory.graph;
  const dead: number = stats.tombstones;
  const report: RecallReport = await store.measureRecall({ k: 10, queries: [[1, 2, 3]], sample: 50, params: { efSearch: 64 } });
  const chosen: TuneResult = await store.tune({ targetRecall: 0.95, k: 10, signal: AbortSignal.timeout(1000) });
  const knob: "nprobe" | "efSearch" = chosen.knob;
  const name: string = events[0]!.name;
  void [p99, graph, dead, report.recall, knob, name];
  // @ts-expect-error k is required
  await store.measureRecall({});
  // @ts-expect-error targetRecall is required
  await store.tune({ k: 10 });
  // @ts-expect-error metrics is a boolean
  await VectorStore.create({ dimension: 3, metrics: "on" });
  // @ts-expect-error onMetric receives a MetricEvent
  await VectorStore.create({ dimension: 3, onMetric: (e: string) => e });
  // @ts-expect-error not a metric name
  const bad: MetricEvent["name"] = "quiver.search.latency";
  void bad;
}

export async function keepVectors(): Promise<void> {
  const store = await VectorStore.create<Doc>({ dimension: 384, index: "BIN", keepVectors: false });
  const kept: boolean = (await store.stats()).keepVectors;
  const meta: StoredMetadata<Doc> | undefined = await store.getMetadata("a");
  const title: string | undefined = meta?.metadata?.title;
  const remote = await WorkerVectorStore.create<Doc>(worker, { dimension: 384, index: "PQ48", keepVectors: false });
  const remoteMeta: StoredMetadata<Doc> | undefined = await remote.getMetadata("a");
  await VectorStore.open({ name: "docs", storage: new MemoryStorage(), keepVectors: false });
  void [kept, title, remoteMeta];
  // @ts-expect-error keepVectors is a boolean
  await VectorStore.create({ dimension: 3, index: "SQ8", keepVectors: "no" });
  // @ts-expect-error getMetadata returns no vector
  void meta?.vector;
}
