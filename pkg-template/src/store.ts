/**
 * {@link VectorStore}: the store users touch, over the raw wasm `Collection`.
 *
 * What it adds to the binding: input checks with typed errors (see `validate.ts`), batches
 * packed so each chunk crosses into WebAssembly once, chunked long writes with progress,
 * cancellation and rollback, one-at-a-time execution of calls in call order, a closed state,
 * and the storage seam.
 *
 * @packageDocumentation
 */
import { simdEnabled, version, type Collection } from "../wasm/quiver.js";
import { engineFor } from "./engine.js";
import { QuiverError, quiverError, toQuiverError } from "./errors.js";
import { StoreMetrics, type MetricsOptions } from "./metrics.js";
import { wasmReady, yieldToEventLoop } from "./runtime.js";
import type { StorageAdapter } from "./storage/adapter.js";
import type { ColdTier } from "./storage/cold.js";
import { loadCollection, loadManifest, refreshCollection, saveCollection, storeChannel } from "./storage/persist.js";
import type {
  CreateOptions,
  MeasureRecallOptions,
  Metadata,
  Metric,
  OpenOptions,
  QuiverStore,
  RecallReport,
  SearchHit,
  SearchParams,
  SearchRequest,
  StoredItem,
  StoredMetadata,
  StoreStats,
  Item,
  TaskOptions,
  TuneOptions,
  TuneResult,
} from "./types.js";
import {
  checkId,
  checkIds,
  checkInteger,
  checkK,
  checkOptions,
  checkPacked,
  packQueries,
  requireOptions,
  checkSearch,
  checkTask,
  metadataJson,
  packItems,
  type CheckedTask,
  type PackedBatch,
} from "./validate.js";

/**
 * Floats per chunk of a long write (2 MiB): 1,024 vectors of 384 dimensions, fewer if wider.
 * Each chunk is copied into WebAssembly and prepared there, so about twice its size is what a
 * write holds beyond the store itself: with 8 MiB chunks a Flat store of 51k × 384 grew the
 * wasm memory by ×1.23 of its payload, with 2 MiB by ×1.09 (bench/README.md, "Scale").
 */
const CHUNK_FLOATS = 1 << 19;
/** Most vectors per chunk, whatever the dimension. */
const MAX_CHUNK_ITEMS = 1024;
/** The cold-vector code, loaded only for a store that asks for `coldVectors`. */
const coldModule = (value: unknown) => (value === undefined || value === false ? undefined : import("./storage/cold.js"));

type WriteMode = "add" | "upsert";

/** Writes an already packed batch; for the worker front end, which receives batches packed. */
export let writePackedBatch: (store: VectorStore<object>, mode: WriteMode, batch: unknown, options: TaskOptions | undefined) => Promise<void>;

function checkName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > 256 || name.includes("/")) {
    throw quiverError("invalid_argument", `name must be a string of 1 to 256 characters without "/", got ${JSON.stringify(name) ?? String(name)}`);
  }
  return name;
}

function checkStorage(storage: unknown, required: boolean): StorageAdapter | undefined {
  if (storage === undefined && !required) return undefined;
  const s = storage as Partial<Record<keyof StorageAdapter, unknown>> | null | undefined;
  if (typeof s !== "object" || s === null || [s.load, s.loadRange, s.saveBatch, s.remove].some((f) => typeof f !== "function")) {
    throw quiverError("invalid_argument", "storage must be a StorageAdapter (load, loadRange, saveBatch, remove)");
  }
  return storage as StorageAdapter;
}

/** Runs a core call, turning the binding's raw errors into {@link QuiverError}s. */
function core<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw toQuiverError(error);
  }
}

interface RawRecord {
  id: string;
  vector: Float32Array;
  metadata: object | null;
}

/** What a chunked write must undo if it fails or is cancelled part way. */
class Undo {
  /** Ids that did not exist before this write. */
  readonly added: string[] = [];
  /** Previous versions of the items this write replaced. */
  readonly replaced: RawRecord[] = [];

  rollback(collection: Collection): void {
    if (this.added.length > 0) collection.delete(this.added);
    if (this.replaced.length > 0) {
      const dim = collection.dimension;
      const vectors = new Float32Array(this.replaced.length * dim);
      this.replaced.forEach((r, i) => vectors.set(r.vector, i * dim));
      collection.upsert(
        this.replaced.map((r) => r.id),
        vectors,
        metadataJson(this.replaced.map((r) => (r.metadata === null ? null : JSON.stringify(r.metadata))), 0, this.replaced.length),
      );
    }
  }
}

/** A field path must be a non-empty string; the core checks its syntax. */
/**
 * Sets `options.memoryBudget` on a new or opened collection; rejects (the caller frees it) when
 * the value is not a byte count or the store already holds more than it allows.
 */
function applyMemoryBudget(c: Collection, budget: unknown, name: string): void {
  if (budget === undefined) return;
  if (typeof budget !== "number") throw quiverError("invalid_argument", "memoryBudget must be a number of bytes");
  try {
    core(() => c.setMemoryBudget(budget));
  } catch (error) {
    if (error instanceof QuiverError && error.code === "memory_budget_exceeded") {
      throw quiverError("memory_budget_exceeded", `store ${JSON.stringify(name)} holds ${c.memoryBytes()} bytes; a memoryBudget of ${budget} cannot hold them plus one more item`);
    }
    throw error;
  }
}

function checkFieldName(field: unknown): void {
  if (typeof field !== "string" || field.length === 0) throw quiverError("invalid_argument", "field must be a non-empty string such as \"category\" or \"author.name\"");
}

/**
 * A vector store running in this thread. Create one with {@link VectorStore.create} or
 * {@link VectorStore.open}; `M` types the metadata.
 *
 * @example
 * ```js
 * const store = await VectorStore.create({ dimension: 3 });
 * await store.add([{ id: "a", vector: [1, 0, 0], metadata: { tag: "x" } }]);
 * const [best] = await store.search({ vector: [0.9, 0.1, 0], k: 1 });
 * ```
 */
export class VectorStore<M extends object = Metadata> implements QuiverStore<M> {
  /** The store's name (its key in storage). */
  readonly name: string;
  /** Components per vector. */
  readonly dimension: number;
  /** The metric: `"cosine"`, `"l2"` or `"dot"`. */
  readonly metric: Metric;
  /** The canonical index spec, e.g. `"Flat"`. */
  readonly index: string;
  #collection: Collection | undefined;
  readonly #storage: StorageAdapter | undefined;
  /** The last queued call: each call starts when the previous one has settled. */
  #tail: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  /** Where other instances of this store announce saves (see `storage/persist.ts`). */
  readonly #channel: BroadcastChannel | undefined;
  #refreshQueued = false;
  readonly #metrics: StoreMetrics;
  /** Cold vectors ({@link CreateOptions.coldVectors}), when on. */
  readonly #cold: ColdTier | undefined;

  static {
    writePackedBatch = (store, mode, batch, options) => store.#writeChecked(mode, () => checkPacked(batch, store.dimension), options);
  }

  private constructor(name: string, collection: Collection, storage: StorageAdapter | undefined, metrics: MetricsOptions, cold?: ColdTier) {
    this.name = name;
    this.#cold = cold;
    this.#collection = collection;
    this.#storage = storage;
    this.dimension = collection.dimension;
    this.metric = collection.metric as Metric;
    this.index = collection.spec;
    this.#metrics = new StoreMetrics(name, this.index, metrics);
    this.#channel = storage && storeChannel(storage, name);
    if (this.#channel) this.#channel.onmessage = () => this.#queueRefresh();
  }

  /** Catches up with a save another instance announced (once per burst of announcements). */
  #queueRefresh(): void {
    if (this.#refreshQueued || this.#closing || !this.#storage) return;
    this.#refreshQueued = true;
    const storage = this.#storage;
    this.#run(async (c) => {
      this.#refreshQueued = false;
      const next = await refreshCollection(storage, this.name, c);
      if (next !== c) {
        this.#adopt(c, next);
      }
    }).catch(() => {
      // A failed refresh changes nothing; the next save or announcement tries again.
    });
  }

  /**
   * Creates an empty store. Rejects with `invalid_dimension`, `invalid_metric`, `invalid_spec`
   * or `invalid_argument` on bad options, and with `invalid_argument` if `storage` already holds
   * a store of this name (use {@link VectorStore.open}).
   *
   * In browsers this fetches and compiles the `.wasm` on first use (see `init`).
   */
  static async create<M extends object = Metadata>(options: CreateOptions): Promise<VectorStore<M>> {
    const o = requireOptions(options, "options");
    const name = checkName(o.name ?? "default");
    const storage = checkStorage(o.storage, false);
    await wasmReady();
    if (storage && (await loadManifest(storage, name))) {
      throw quiverError("invalid_argument", `a store named ${JSON.stringify(name)} already exists in this storage; open it with VectorStore.open`);
    }
    return await VectorStore.#build<M>(name, o, storage);
  }

  /**
   * Opens the store `name` kept in `storage`; when there is none and `dimension` is given,
   * creates it (like {@link VectorStore.create}), else rejects with `not_found`.
   *
   * Loading reports `{ phase: "load" }` progress in records and can be cancelled. Rejects with
   * `corrupt` or `unsupported_version` if the stored bytes fail their checks, `storage_error`
   * if the adapter fails, and `dimension_mismatch` / `invalid_argument` if `dimension`,
   * `metric` or `index` are given and differ from the stored store's.
   */
  static async open<M extends object = Metadata>(options: OpenOptions): Promise<VectorStore<M>> {
    const o = requireOptions(options, "options");
    const name = checkName(o.name);
    const storage = checkStorage(o.storage, true) as StorageAdapter;
    const { signal, onProgress } = checkTask({ signal: o.signal, onProgress: o.onProgress });
    signal?.throwIfAborted();
    await wasmReady();
    const loaded = await loadCollection(storage, name, { signal, onProgress });
    if (loaded) {
      const mismatch =
        o.dimension !== undefined && o.dimension !== loaded.dimension
          ? quiverError("dimension_mismatch", `store ${JSON.stringify(name)} holds vectors of dimension ${loaded.dimension}, not ${String(o.dimension)}`)
          : o.metric !== undefined && o.metric !== loaded.metric
            ? quiverError("invalid_argument", `store ${JSON.stringify(name)} uses the ${loaded.metric} metric, not ${String(o.metric)}`)
            : o.index !== undefined && typeof o.index === "string" && o.index.replace(/\s/g, "").toUpperCase() !== loaded.spec.toUpperCase()
              ? quiverError("invalid_argument", `store ${JSON.stringify(name)} has index ${loaded.spec}, not ${o.index}`)
              : o.keepVectors !== undefined && o.keepVectors !== loaded.keepVectors
                ? quiverError("invalid_argument", `store ${JSON.stringify(name)} was created with keepVectors: ${String(loaded.keepVectors)}, not ${String(o.keepVectors)}`)
                : undefined;
      if (mismatch) {
        loaded.free();
        throw mismatch;
      }
      let cold: ColdTier | undefined;
      try {
        applyMemoryBudget(loaded, o.memoryBudget, name);
        const tier = await coldModule(o.coldVectors);
        if (tier) cold = await tier.ColdTier.open(loaded, storage, name, tier.checkCold(o.coldVectors, storage, o.keepVectors));
      } catch (error) {
        loaded.free();
        throw error;
      }
      return new VectorStore<M>(name, loaded, storage, { metrics: o.metrics as boolean | undefined, onMetric: o.onMetric as MetricsOptions["onMetric"] }, cold);
    }
    if (o.dimension === undefined) {
      throw quiverError("not_found", `no store named ${JSON.stringify(name)} in this storage; pass dimension (and metric, index) to create it`);
    }
    return await VectorStore.#build<M>(name, o, storage);
  }

  static async #build<M extends object>(name: string, o: Record<string, unknown>, storage: StorageAdapter | undefined): Promise<VectorStore<M>> {
    if (o.dimension === undefined) throw quiverError("invalid_dimension", "dimension is required");
    const dimension = checkInteger(o.dimension, "dimension", 1, 0xffff_ffff, "invalid_dimension") as number;
    const metric = o.metric ?? "cosine";
    if (typeof metric !== "string") throw quiverError("invalid_metric", `metric must be "cosine", "l2" or "dot"`);
    const index = o.index ?? "Flat";
    if (typeof index !== "string") throw quiverError("invalid_spec", `index must be a spec string such as "Flat"`);
    const seed = checkInteger(o.seed, "seed", 0, Number.MAX_SAFE_INTEGER);
    if (o.keepVectors !== undefined && typeof o.keepVectors !== "boolean") throw quiverError("invalid_argument", "keepVectors must be a boolean");
    const tier = await coldModule(o.coldVectors);
    const coldCacheBytes = tier?.checkCold(o.coldVectors, storage, o.keepVectors);
    const keepVectors = coldCacheBytes !== undefined ? false : (o.keepVectors as boolean | undefined);
    if (o.metrics !== undefined && typeof o.metrics !== "boolean") throw quiverError("invalid_argument", "metrics must be a boolean");
    if (o.onMetric !== undefined && typeof o.onMetric !== "function") throw quiverError("invalid_argument", "onMetric must be a function");
    const indexedFields = o.indexedFields;
    if (indexedFields !== undefined && !(Array.isArray(indexedFields) && indexedFields.every((f) => typeof f === "string"))) {
      throw quiverError("invalid_argument", "indexedFields must be an array of field paths");
    }
    // Flat and HNSW come from the lean build; other families load the full one (engine.ts).
    const engine = await engineFor(index);
    const collection = core(() => new engine.Collection({ dimension, metric, spec: index, seed, keepVectors }));
    let cold: ColdTier | undefined;
    try {
      for (const field of (indexedFields ?? []) as string[]) core(() => collection.createFieldIndex(field));
      applyMemoryBudget(collection, o.memoryBudget, name);
      if (tier && coldCacheBytes !== undefined) cold = await tier.ColdTier.open(collection, storage as StorageAdapter, name, coldCacheBytes);
    } catch (error) {
      collection.free();
      throw error;
    }
    // A store with storage journals from the start, so that if another tab saves the same
    // store first, this one's changes can be replayed onto that version. A cold store is never
    // replayed (its rows belong to its own internal ids), so it does not pay for a journal.
    if (storage && !cold) collection.enableJournal();
    return new VectorStore<M>(name, collection, storage, { metrics: o.metrics as boolean | undefined, onMetric: o.onMetric as MetricsOptions["onMetric"] }, cold);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Adds new items, all or nothing: if any item is invalid, any id is already stored or repeated,
   * or the call is cancelled, nothing is added.
   *
   * Cancellation (`options.signal`) is checked before each chunk of up to 1,024 vectors; a
   * cancelled or failed add removes the chunks it had already added, so the store is as before.
   */
  add(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    return this.#writeChecked("add", () => packItems(items, this.dimension), options);
  }

  /**
   * Adds new items and replaces existing ones (vector and metadata), all or nothing.
   *
   * A cancelled or failed upsert restores the items it had replaced and removes the ones it had
   * added. (With an index that keeps no full vectors, an upsert that replaces items is sent in
   * one piece, so it completes or fails as a whole, without progress in between.)
   */
  upsert(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    return this.#writeChecked("upsert", () => packItems(items, this.dimension), options);
  }

  /**
   * Deletes items by id (one id or an array), all or nothing: an unknown id rejects with
   * `not_found` and deletes nothing. Resolves to the number deleted.
   */
  async delete(ids: string | readonly string[]): Promise<number> {
    const list = checkIds(ids);
    return this.#run((c) => {
      const deleted = c.delete(list);
      this.#metrics.delete(deleted);
      return deleted;
    });
  }

  /**
   * Indexes a metadata field (a dotted path such as `"author.name"`) so that filters on it are
   * estimated and answered from per-value bitmaps instead of a scan of every item's metadata
   * (docs/filters.md). Resolves `false` if it was already indexed. Building reads every item
   * once; afterwards adds, upserts and deletes keep it current, and the next save stores it.
   * Rejects with `invalid_argument` for a malformed path.
   */
  async createFieldIndex(field: string): Promise<boolean> {
    checkFieldName(field);
    return this.#run((c) => core(() => c.createFieldIndex(field)));
  }

  /** Stops indexing a metadata field; resolves `false` if it was not indexed. */
  async dropFieldIndex(field: string): Promise<boolean> {
    checkFieldName(field);
    return this.#run((c) => core(() => c.dropFieldIndex(field)));
  }

  /** The indexed metadata fields, sorted by path. */
  async indexedFields(): Promise<string[]> {
    return this.#run((c) => c.indexedFields());
  }

  /**
   * The stored item `{ id, vector, metadata? }`, or `undefined` if the id is not stored.
   *
   * For a stored id, rejects with `unsupported` in a store created with `keepVectors: false`,
   * whatever it holds (even before its index has trained and dropped the vectors, so that code
   * written against a small store does not break as it grows); {@link VectorStore.getMetadata}
   * returns the id and metadata. An id that is not stored is `undefined` in every store.
   */
  async get(id: string): Promise<StoredItem<M> | undefined> {
    checkId(id, "get");
    return this.#run((c) => {
      if (!c.has(id)) return undefined;
      if (!c.keepVectors) {
        throw quiverError("unsupported", `store ${JSON.stringify(this.name)} was created with keepVectors: false, so it holds no vectors for get to return; getMetadata(id) returns the id and metadata`);
      }
      const record = c.get(id) as RawRecord;
      return (record.metadata === null ? { id: record.id, vector: record.vector } : record) as StoredItem<M>;
    });
  }

  /**
   * The stored item without its vector, `{ id, metadata? }`, or `undefined` if the id is not
   * stored. Works whatever the index keeps (unlike {@link VectorStore.get}, it does not need the
   * full vectors of a `keepVectors: false` store), and copies no vector.
   */
  async getMetadata(id: string): Promise<StoredMetadata<M> | undefined> {
    checkId(id, "getMetadata");
    return this.#run((c) => {
      if (!c.has(id)) return undefined;
      const record = c.getMetadata(id) as { id: string; metadata: M | null };
      return (record.metadata === null ? { id: record.id } : record) as StoredMetadata<M>;
    });
  }

  /**
   * The `k` best items for the query, best first: `{ id, score, metadata? }`.
   *
   * Rejects with `dimension_mismatch` or `invalid_vector` for a bad query, `invalid_k` unless
   * `k` is an integer from 1 to 10,000, and `invalid_filter` for a malformed `filter` (see
   * docs/filters.md: with a filter, the `k` best among the matching items).
   */
  async search(request: SearchRequest): Promise<SearchHit<M>[]> {
    const { query, k, efSearch, nprobe, rerank, exact, filterJson, filterStrategy } = checkSearch(request, this.dimension);
    const metrics = this.#metrics;
    const cold = this.#cold;
    return this.#run(async (c) => {
      // Read the clock only when something is measured (metrics: false and no onMetric).
      const started = metrics.enabled ? performance.now() : 0;
      const knobs = knobArray({ efSearch, nprobe, rerank });
      let raw = (exact ? core(() => c.searchExact(query, k)) : c.search(query, k, knobs, filterJson, filterStrategy)) as RawHit<M>[];
      if (cold && !exact) raw = await cold.search(c, raw, () => c.search(query, k, knobs, filterJson, filterStrategy) as RawHit<M>[]);
      if (metrics.enabled) metrics.search(performance.now() - started);
      return raw.map((h) => (h.metadata === null ? { id: h.id, score: h.score } : h) as SearchHit<M>);
    });
  }

  /**
   * Writes the store to its storage.
   *
   * Writes only what changed since the last save (the first save, and occasional compactions,
   * write everything; see `docs/format.md`), and resolves once the storage confirmed the write
   * (IndexedDB: the transaction's `complete` event). If another tab or worker saved this store
   * in between, its version is loaded and this store's unsaved changes are applied on top (the
   * later write of an id wins). Progress is `{ phase: "save" }` in records; cancellation takes
   * effect until the write starts.
   *
   * Rejects with `unsupported` without storage, `quota_exceeded` when the storage is full and
   * `storage_error` when it fails otherwise; in every case the stored store is as it was and
   * the unsaved changes stay in memory for the next save.
   */
  async save(options?: TaskOptions): Promise<void> {
    return this.#save(options, false);
  }

  /**
   * Saves the store as a new full snapshot, folding the op log in, so that the next open
   * decodes the snapshot without replaying logged operations (for HNSW each logged add is a
   * graph insert when the store opens). The old snapshot's records are deleted by the next
   * save, once nothing committed refers to them.
   *
   * Saves also compact on their own, by the policy in `docs/format.md` (the log outgrows a
   * quarter of the snapshot, or, for HNSW, holds more than 1,024 adds); call `compact()` to do
   * it at a time that suits you, such as when the app is idle. Otherwise it is {@link save}:
   * same progress, cancellation (until the write starts) and errors. After a failure the store
   * is unchanged and the next save writes the full snapshot.
   */
  async compact(options?: TaskOptions): Promise<void> {
    return this.#save(options, true);
  }

  #save(options: TaskOptions | undefined, compact: boolean): Promise<void> {
    const task = checkTask(options);
    return this.#run(async (c) => {
      task.signal?.throwIfAborted();
      if (!this.#storage) throw quiverError("unsupported", "this store has no storage adapter; pass `storage` when creating it");
      // The saved store refers to every row written so far: make them durable first.
      await this.#cold?.sync();
      // A rebase would re-add this store's unsaved items under the other writer's next internal
      // ids, where that writer's own rows already are: refuse rather than mix them up.
      const next = await saveCollection(this.#storage, this.name, c, task, this.#channel, compact, this.#cold?.rebaseRefusal(this.name));
      if (next !== c) this.#adopt(c, next);
    });
  }

  /**
   * Counts, sizes, configuration and operation metrics: `{ name, count, tombstones, dimension,
   * metric, index, keepVectors, memoryBytes, memoryBudget, memory, searchDefaults, simd, version, search, insert, deletes,
   * windowSeconds }` (see {@link StoreStats}).
   */
  async stats(): Promise<StoreStats> {
    return this.#run((c) => ({
      name: this.name,
      count: c.length,
      tombstones: c.tombstones,
      dimension: this.dimension,
      metric: this.metric,
      index: this.index,
      keepVectors: c.keepVectors,
      cold: this.#cold?.stats(c) ?? null,
      memoryBytes: c.memoryBytes(),
      memoryBudget: c.memoryBudget() ?? null,
      memory: c.memoryBreakdown(),
      searchDefaults: definedParams(c.searchDefaults()),
      indexedFields: c.indexedFields(),
      simd: simdEnabled(),
      version: version(),
      ...this.#metrics.snapshot(),
    }));
  }

  /**
   * Recall@k of this store's search against exact search (brute force in the core over the
   * same stored vectors). With no `queries`, samples `sample` (default 100) stored vectors and
   * searches each leave-one-out, so a vector finding itself does not count. Knobs in `params`
   * override the store's defaults (e.g. the tuned ones). Emits `quiver.recall`.
   *
   * Rejects with `invalid_k`, `invalid_argument` (empty store, bad `sample`), `dimension_mismatch`
   * or `invalid_vector` (bad query), and `unsupported` for an index that keeps no full vectors.
   * The work is one call into the core: `signal` is checked before it starts.
   */
  async measureRecall(options: MeasureRecallOptions): Promise<RecallReport> {
    const o = requireOptions(options, "options");
    const k = checkK(o.k);
    const sample = checkInteger(o.sample, "sample", 1, 0xffff_ffff) ?? 100;
    const queries = packQueries(o.queries, this.dimension);
    const p = requireParams(o.params);
    const { signal } = checkTask({ signal: o.signal, onProgress: o.onProgress });
    return this.#run((c) => {
      signal?.throwIfAborted();
      const report = core(() => c.measureRecall(queries, k, sample, knobArray(p)));
      this.#metrics.recall(report.recall, k);
      const params = { ...definedParams(c.searchDefaults()), ...definedParams(p) };
      return { recall: report.recall, k, queries: report.queries, params };
    });
  }

  /**
   * Finds the smallest `efSearch` (HNSW) or `nprobe` (IVF) whose recall@k against exact search
   * reaches `targetRecall` (binary search; with no `queries`, on 100 stored vectors searched
   * leave-one-out), sets it as the store's default for searches that leave it unset, and
   * returns the operating point. Emits `quiver.recall`.
   *
   * Rejects with `unsupported` for exact indexes (`Flat`: nothing to tune) and indexes keeping
   * no full vectors, `not_trained` for an IVF that has not trained yet, `invalid_argument` for
   * a target outside (0, 1] or an empty store. `signal` is checked before the work starts.
   */
  async tune(options: TuneOptions): Promise<TuneResult> {
    const o = requireOptions(options, "options");
    const k = checkK(o.k);
    const target = o.targetRecall;
    if (typeof target !== "number" || !(target > 0 && target <= 1)) {
      throw quiverError("invalid_argument", `targetRecall must be a number in (0, 1], got ${String(target)}`);
    }
    const queries = packQueries(o.queries, this.dimension);
    const { signal } = checkTask({ signal: o.signal, onProgress: o.onProgress });
    return this.#run((c) => {
      signal?.throwIfAborted();
      const report = core(() => c.tune(queries, target, k));
      this.#metrics.recall(report.recall, k);
      return { ...report, params: definedParams(c.searchDefaults()) };
    });
  }

  /**
   * Sets the knob values searches use when they leave them unset (as {@link VectorStore.tune}
   * does): each knob given replaces the default, knobs left out keep theirs. Persisted with the
   * store's settings on the next {@link VectorStore.save}. Resolves to the new defaults.
   * Rejects with `invalid_argument` for a knob that is not a positive integer (`rerank`: ≥ 0).
   */
  async setSearchDefaults(params: SearchParams): Promise<SearchParams> {
    const given = definedParams(requireParams(requireOptions(params, "params")));
    return this.#run((c) => {
      const next = { ...definedParams(c.searchDefaults()), ...given };
      c.setSearchDefaults(knobArray(next));
      return definedParams(c.searchDefaults());
    });
  }

  /**
   * Releases the store. Calls already made finish first; later calls reject with `closed`. Unsaved
   * changes are lost. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#tail.then(async () => {
      this.#channel?.close();
      this.#collection?.free();
      this.#collection = undefined;
      await this.#cold?.close().catch(() => undefined);
    });
    return this.#closing;
  }

  /**
   * Continues with `next`, a newer version of the store loaded in place of `previous` (another
   * instance saved), and frees `previous`. Cold vectors stay on.
   */
  #adopt(previous: Collection, next: Collection): void {
    if (this.#cold) {
      try {
        this.#cold.adopt(next);
      } catch (error) {
        next.free();
        throw error;
      }
    }
    previous.free();
    this.#collection = next;
  }

  /** Queues `task` after every earlier call; rejects at once if the store is closed. */
  #run<T>(task: (collection: Collection) => T | Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(this.#closedError());
    const result = this.#tail.then(() => {
      const collection = this.#collection;
      if (!collection) throw this.#closedError();
      return task(collection);
    });
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.catch((error: unknown) => {
      throw toQuiverError(error);
    });
  }

  #closedError(): QuiverError {
    return quiverError("closed", `the store ${JSON.stringify(this.name)} is closed`);
  }

  async #writeChecked(mode: WriteMode, pack: () => PackedBatch, options: TaskOptions | undefined): Promise<void> {
    if (this.#closing) throw this.#closedError();
    const batch = pack();
    const task = checkTask(options);
    const metrics = this.#metrics;
    return this.#run(async (c) => {
      const started = metrics.enabled ? performance.now() : 0;
      await this.#write(c, mode, batch, task);
      if (metrics.enabled && batch.ids.length > 0) metrics.insert(batch.ids.length, performance.now() - started);
    });
  }

  async #write(c: Collection, mode: WriteMode, batch: PackedBatch, { signal, onProgress }: CheckedTask): Promise<void> {
    const { ids, vectors, metadata } = batch;
    const n = ids.length;
    const dim = this.dimension;
    signal?.throwIfAborted();
    if (n === 0) return;
    let chunk = Math.max(1, Math.min(MAX_CHUNK_ITEMS, Math.floor(CHUNK_FLOATS / dim)));
    // Replaced items can be restored only if the index returns full vectors; if not, send the
    // batch whole so the core's own all-or-nothing holds.
    const restorable = mode === "add" || canRestore(c, ids);
    if (!restorable) chunk = n;
    // A batch past the memory budget is refused whole, before a first chunk grows the store
    // (a later chunk's refusal would roll the items back but not the capacity they grew).
    if (chunk < n && c.memoryBudget() !== undefined) checkBudget(c, ids, metadata);
    const undo = new Undo();
    try {
      for (let start = 0; start < n; start += chunk) {
        if (start > 0) {
          await yieldToEventLoop();
          signal?.throwIfAborted();
        }
        const end = Math.min(n, start + chunk);
        const chunkIds = ids.slice(start, end);
        const chunkVectors = vectors.subarray(start * dim, end * dim);
        const json = metadataJson(metadata, start, end);
        // Cold rows first, under the ids this chunk will get: a failed write changes nothing.
        if (this.#cold) await this.#cold.write(c, chunkIds, chunkVectors);
        const fresh: string[] = [];
        const previous: RawRecord[] = [];
        for (const id of chunkIds) {
          if (mode === "add" || !c.has(id)) fresh.push(id);
          else if (restorable) previous.push(c.get(id) as RawRecord);
        }
        core(() => c[mode](chunkIds, chunkVectors, json));
        undo.added.push(...fresh);
        undo.replaced.push(...previous);
        onProgress?.({ phase: mode, done: end, total: n });
      }
    } catch (error) {
      core(() => undo.rollback(c));
      throw error;
    }
  }
}

type RawHit<M> = { id: string; score: number; metadata: M | null };

/** Bytes of `text` in UTF-8 (what the core counts), without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // Surrogate pairs (2 units, 4 bytes) add 2 over their count; other non-ASCII 1 or 2.
    if (unit >= 0x80) bytes += unit >= 0xd800 && unit < 0xe000 ? 1 : unit >= 0x800 ? 2 : 1;
  }
  return bytes;
}

/** The core's memory-budget check for a whole batch (see `Collection::check_budget_for`). */
function checkBudget(c: Collection, ids: readonly string[], metadata: readonly (string | null)[] | undefined): void {
  let idBytes = 0;
  for (const id of ids) idBytes += utf8Length(id);
  let withMetadata = 0;
  let metadataBytes = 0;
  for (const m of metadata ?? []) {
    if (m === null) continue;
    withMetadata++;
    metadataBytes += utf8Length(m);
  }
  core(() => c.checkBudgetFor(ids.length, idBytes, withMetadata, metadataBytes));
}

/**
 * Whether a chunked upsert could restore the items it replaces: true unless the index keeps no
 * full vectors (then `get` is `unsupported`) and some id of the batch is stored.
 */
function canRestore(c: Collection, ids: readonly string[]): boolean {
  const existing = ids.find((id) => c.has(id));
  if (existing === undefined) return true;
  try {
    c.get(existing);
    return true;
  } catch {
    return false;
  }
}

/** `params` without its undefined members. */
/**
 * The knobs as the core takes them per query: one `[efSearch, nprobe, rerank]` array with NaN
 * for a knob left unset (one typed array crosses into WebAssembly instead of an object).
 */
function knobArray(p: { efSearch?: number | undefined; nprobe?: number | undefined; rerank?: number | undefined }): Float64Array | undefined {
  if (p.efSearch === undefined && p.nprobe === undefined && p.rerank === undefined) return undefined;
  return Float64Array.of(p.efSearch ?? NaN, p.nprobe ?? NaN, p.rerank ?? NaN);
}

function definedParams(params: SearchParams): SearchParams {
  const out: SearchParams = {};
  if (params.efSearch !== undefined) out.efSearch = params.efSearch;
  if (params.nprobe !== undefined) out.nprobe = params.nprobe;
  if (params.rerank !== undefined) out.rerank = params.rerank;
  return out;
}

/** Checks `measureRecall`'s params like a search's. */
function requireParams(value: unknown): SearchParams {
  const params = checkOptions(value, "params");
  return {
    efSearch: checkInteger(params.efSearch, "params.efSearch", 1, 0xffff_ffff),
    nprobe: checkInteger(params.nprobe, "params.nprobe", 1, 0xffff_ffff),
    rerank: checkInteger(params.rerank, "params.rerank", 0, 0xffff_ffff),
  };
}
