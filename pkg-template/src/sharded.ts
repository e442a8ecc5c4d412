/**
 * {@link ShardedStore}: one logical store over N shards, each any {@link QuiverStore} (an
 * in-thread {@link VectorStore}, a {@link WorkerVectorStore} in its own Web Worker, or a
 * client of a remote shard such as a Durable Object).
 *
 * What it promises (see docs/sharding.md):
 * - **Routing** is `fnv1a32(utf8(id)) % shardCount` ({@link shardOf}); an id never moves
 *   unless the user re-shards into a store with another shard count.
 * - **Writes** are split per shard and sent in parallel. Each shard applies its part all or
 *   nothing; if any shard fails, the shards that succeeded are rolled back (added ids deleted,
 *   replaced or deleted items restored), so the whole call is all or nothing unless a rollback
 *   itself fails (then the error says so).
 * - **Search** goes to every shard in parallel with the same `k`, filter and params; the merge
 *   keeps the global top-k in the metric's direction (higher is better for cosine and dot,
 *   lower for l2), ties broken by shard index, then by each shard's own order. For exact
 *   (`Flat`) indexes the result equals one store's over the same data.
 * - **Failures** of a shard reject with a {@link ShardError} (code `shard_failed`, or the
 *   shard's own {@link QuiverError} code for input errors) naming the shard; with
 *   `allowPartial` a search returns the other shards' merge marked `partial: true`.
 *
 * @packageDocumentation
 */
import { QuiverError, isQuiverError, quiverError } from "./errors.js";
import type { MessageEndpoint } from "./worker/protocol.js";
import { WorkerVectorStore, type WorkerCreateOptions, type WorkerOpenOptions } from "./worker/client.js";
import type {
  Item,
  Metadata,
  Metric,
  QuiverStore,
  SearchHit,
  SearchParams,
  SearchRequest,
  StoredItem,
  VectorInput,
  StoreStats,
  TaskOptions,
  MeasureRecallOptions,
  RecallReport,
  TuneOptions,
  TuneResult,
} from "./types.js";

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `id` (offset basis 2166136261, prime 16777619).
 * Stable across releases and runtimes: routing depends on it.
 */
export function fnv1a32(id: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(id)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const utf8 = new TextEncoder();

/** The shard that holds `id` in a store of `shardCount` shards: `fnv1a32(id) % shardCount`. */
export function shardOf(id: string, shardCount: number): number {
  return fnv1a32(id) % shardCount;
}

/** A failure of one shard: a {@link QuiverError} that names the shard. */
export class ShardError extends QuiverError {
  /** The index of the failing shard, from 0. */
  readonly shard: number;

  /**
   * @param code - `shard_failed`, or the shard's own error code.
   * @param shard - the failing shard.
   * @param message - a human-readable explanation.
   * @param cause - the shard's error.
   */
  constructor(code: QuiverError["code"], shard: number, message: string, cause?: unknown) {
    super(code, message, { cause });
    this.shard = shard;
  }
}

/** Search results of a {@link ShardedStore}: marked `partial` when shards were left out. */
export type ShardedSearchResult<M extends object = Metadata> = SearchHit<M>[] & {
  /** Present and `true` only when `allowPartial` let failed shards be left out. */
  partial?: true;
  /** The errors of the shards left out (with `partial`). */
  failures?: ShardError[];
};

/**
 * An optional capability of a shard: several searches in one call (one round trip for a remote
 * shard). {@link ShardedStore.measureRecall} and {@link ShardedStore.tune} use it when a shard
 * has it; the Cloudflare template's `DurableObjectShard` does, so tuning costs one Durable
 * Object request per shard per evaluated knob value rather than one per query.
 */
export interface ShardSearchMany<M extends object = Metadata> {
  /** The answers to `requests`, in order, as `search` would give them one by one. */
  searchMany(requests: readonly SearchRequest[]): Promise<SearchHit<M>[][]>;
}

/** Options of a {@link ShardedStore}. */
export interface ShardedOptions {
  /** The logical store's name, reported by {@link ShardedStore.stats}. Defaults to `"sharded"`. */
  name?: string | undefined;
  /**
   * Milliseconds a shard may take to answer a read (`search`, `get`, `stats`) before the call
   * fails with `shard_failed`. Writes have no timeout: a write that timed out might still be
   * applied later, which a rollback could not undo. Default: no timeout.
   */
  timeoutMs?: number | undefined;
  /**
   * Whether a search may leave out failed shards and return the others' merge, marked
   * `partial: true` (with `failures`). Default `false`: any failed shard fails the search.
   */
  allowPartial?: boolean | undefined;
  /** Called by {@link ShardedStore.close} after the shards are closed (e.g. to end workers). */
  onClose?: (() => void | Promise<void>) | undefined;
}

/** Options of {@link ShardedStore.withWorkers}. */
export interface ShardedWorkersOptions extends Omit<WorkerCreateOptions, "name">, ShardedOptions {
  /** Number of shards, one Web Worker each (1 to 256). */
  count: number;
  /** The worker script (e.g. `new URL("quiver-vectors/worker", import.meta.url)`). */
  workerUrl: string | URL;
  /**
   * `"create"` (default) makes empty shards named `${name}-${i}`; `"open"` opens them from
   * the workers' storage (a worker script that calls `serveWorker({ storage })`).
   */
  mode?: "create" | "open" | undefined;
  /** Makes a worker; defaults to `new Worker(url, { type: "module" })`. */
  createWorker?: ((url: string | URL, shard: number) => MessageEndpoint & { terminate?(): void }) | undefined;
}

interface Deferred {
  resolve(): void;
  promise: Promise<void>;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { resolve, promise };
}

/**
 * One logical store over N shards, with the {@link QuiverStore} API. `M` types the metadata.
 *
 * @example
 * ```js
 * const shards = await Promise.all([0, 1].map((i) => VectorStore.create({ name: `s${i}`, dimension: 384 })));
 * const store = new ShardedStore(shards);
 * await store.add(items);
 * const hits = await store.search({ vector: q, k: 10 });
 * ```
 */
export class ShardedStore<M extends object = Metadata> implements QuiverStore<M> {
  /** The logical store's name. */
  readonly name: string;
  /** Components per vector (equal in every shard). */
  readonly dimension: number;
  /** The metric (equal in every shard). */
  readonly metric: Metric;
  /** The canonical index spec (equal in every shard). */
  readonly index: string;
  /** The shards, in routing order: `shards[shardOf(id, shards.length)]` holds `id`. */
  readonly shards: readonly QuiverStore<M>[];
  readonly #timeoutMs: number | undefined;
  readonly #allowPartial: boolean;
  readonly #onClose: (() => void | Promise<void>) | undefined;
  #closed = false;
  /** Writes run alone; reads run together between writes. */
  #lastWrite: Promise<void> = Promise.resolve();
  readonly #reads = new Set<Promise<void>>();

  /**
   * @param shards - at least one store, all with the same dimension, metric and index. Their
   *   order is the routing order: keep it stable.
   * @param options - see {@link ShardedOptions}.
   */
  constructor(shards: readonly QuiverStore<M>[], options: ShardedOptions = {}) {
    if (!Array.isArray(shards) || shards.length === 0 || shards.length > 65536) {
      throw quiverError("invalid_argument", "shards must be an array of 1 to 65,536 stores");
    }
    const [first] = shards as [QuiverStore<M>];
    for (const [i, s] of shards.entries()) {
      if (s.dimension !== first.dimension || s.metric !== first.metric || s.index !== first.index) {
        throw quiverError(
          "invalid_argument",
          `shard ${i} is ${s.dimension}-d ${s.metric} ${s.index}, shard 0 is ${first.dimension}-d ${first.metric} ${first.index}: every shard must match`,
        );
      }
    }
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs > 0)) {
      throw quiverError("invalid_argument", `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    this.name = options.name ?? "sharded";
    this.dimension = first.dimension;
    this.metric = first.metric;
    this.index = first.index;
    this.shards = [...shards];
    this.#timeoutMs = timeoutMs;
    this.#allowPartial = options.allowPartial === true;
    this.#onClose = options.onClose;
  }

  /**
   * Creates (or opens) one {@link WorkerVectorStore} per shard, each in its own Web Worker,
   * and a {@link ShardedStore} over them. {@link ShardedStore.close} terminates the workers.
   */
  static async withWorkers<M extends object = Metadata>(options: ShardedWorkersOptions): Promise<ShardedStore<M>> {
    const { count, workerUrl, mode = "create", createWorker, name = "sharded", timeoutMs, allowPartial, onClose, ...storeOptions } = options;
    if (!Number.isInteger(count) || count < 1 || count > 256) {
      throw quiverError("invalid_argument", `count must be an integer from 1 to 256, got ${String(count)}`);
    }
    if (storeOptions.keepVectors === false) {
      // delete and upsert read the items back (get) to roll the other shards back on failure.
      throw quiverError("unsupported", "a sharded store reads items back for its cross-shard rollback, which keepVectors: false shards cannot return; use keepVectors: true (the default)");
    }
    const make =
      createWorker ??
      ((url: string | URL) => {
        if (typeof Worker !== "function") throw quiverError("unsupported", "Web Workers are not available here; pass createWorker");
        return new Worker(url, { type: "module" });
      });
    const workers = Array.from({ length: count }, (_, i) => make(workerUrl, i));
    const terminate = () => workers.forEach((w) => w.terminate?.());
    try {
      const shards = await Promise.all(
        workers.map((w, i) =>
          mode === "open"
            ? WorkerVectorStore.open<M>(w, { ...(storeOptions as Omit<WorkerOpenOptions, "name">), name: `${name}-${i}` })
            : WorkerVectorStore.create<M>(w, { ...storeOptions, name: `${name}-${i}` }),
        ),
      );
      return new ShardedStore<M>(shards, {
        name,
        timeoutMs,
        allowPartial,
        onClose: async () => {
          terminate();
          await onClose?.();
        },
      });
    } catch (error) {
      terminate();
      throw error;
    }
  }

  /** Whether {@link ShardedStore.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The shard index of `id`: {@link shardOf}`(id, shards.length)`. */
  shardOf(id: string): number {
    return shardOf(id, this.shards.length);
  }

  /**
   * Adds new items, all or nothing across shards: each shard adds its part all or nothing; if
   * any shard fails (or the call is cancelled), the ids added on the other shards are deleted.
   * Progress counts items over all shards.
   */
  add(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    return this.#write(async () => {
      const parts = this.#split(items, (item) => item.id);
      const task = this.#taskFor(parts, options);
      const done = await this.#settle(parts, (shard, part, i) => shard.add(part, task(i)));
      if (done.failed !== undefined) {
        await this.#rollback(done, (shard, part) => shard.delete(part.map((item) => item.id)), options?.signal);
      }
    });
  }

  /**
   * Adds new items and replaces existing ones, all or nothing across shards: the previous
   * versions are read first, so a failed shard's siblings can be restored.
   */
  upsert(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    return this.#write(async () => {
      const parts = this.#split(items, (item) => item.id);
      const before = await Promise.all(
        parts.map((part, i) => Promise.all(part.map((item) => this.#call(i, (s) => s.get(item.id), false)))),
      );
      const task = this.#taskFor(parts, options);
      const done = await this.#settle(parts, (shard, part, i) => shard.upsert(part, task(i)));
      if (done.failed !== undefined) {
        await this.#rollback(done, async (shard, part, i) => {
          const previous = before[i] ?? [];
          const fresh = part.filter((_, j) => previous[j] === undefined).map((item) => item.id);
          const old = previous.filter((p): p is StoredItem<M> => p !== undefined);
          if (fresh.length > 0) await shard.delete(fresh);
          if (old.length > 0) await shard.upsert(old);
        }, options?.signal);
      }
    });
  }

  /**
   * Deletes items by id, all or nothing across shards: unknown ids fail with `not_found` before
   * anything is deleted; if a shard fails, the items deleted on the others are restored.
   */
  delete(ids: string | readonly string[]): Promise<number> {
    return this.#write(async () => {
      const list = typeof ids === "string" ? [ids] : ids;
      if (!Array.isArray(list)) throw quiverError("invalid_argument", "ids must be a string or an array of strings");
      const parts = this.#split(list, (id) => id);
      const before = await Promise.all(parts.map((part, i) => Promise.all(part.map((id) => this.#call(i, (s) => s.get(id), false)))));
      for (const [i, part] of parts.entries()) {
        const missing = part.find((_, j) => before[i]?.[j] === undefined);
        if (missing !== undefined) throw new ShardError("not_found", i, `id ${JSON.stringify(missing)} is not stored (shard ${i})`);
      }
      const done = await this.#settle(parts, (shard, part) => shard.delete(part));
      if (done.failed !== undefined) {
        await this.#rollback(done, (shard, _part, i) => shard.add((before[i] ?? []) as StoredItem<M>[]));
      }
      return list.length;
    });
  }

  /** The stored item, from the one shard that can hold it. */
  get(id: string): Promise<StoredItem<M> | undefined> {
    return this.#read(() => {
      if (typeof id !== "string") throw quiverError("invalid_id", "id must be a string");
      const i = this.shardOf(id);
      return this.#call(i, (s) => s.get(id), true);
    });
  }

  /**
   * The `k` best items over all shards, best first. Every shard answers with its own top-k
   * (same filter and params); the merge keeps the global top-k. With `allowPartial`, failed
   * shards are left out and the result is marked `partial: true`.
   */
  search(request: SearchRequest): Promise<ShardedSearchResult<M>> {
    return this.#read(() => this.#scatter(request, this.#allowPartial));
  }

  /** Search on every shard and merge, without the read/write gate (callers hold it). */
  async #scatter(request: SearchRequest, allowPartial: boolean): Promise<ShardedSearchResult<M>> {
    const settled = await Promise.allSettled(this.shards.map((_, i) => this.#call(i, (s) => s.search(request), true)));
    const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as ShardError] : []));
    if (failures.length > 0 && (!allowPartial || failures.length === settled.length)) throw failures[0];
    const lists = settled.map((r) => (r.status === "fulfilled" ? r.value : []));
    const merged: ShardedSearchResult<M> = mergeTopK(lists, request.k, this.metric);
    if (failures.length > 0) {
      merged.partial = true;
      merged.failures = failures;
    }
    return merged;
  }

  /** Saves every shard, in parallel; each shard's save is its own (atomic per shard). */
  save(options?: TaskOptions): Promise<void> {
    return this.#write(async () => {
      const done = await this.#settle(
        this.shards.map(() => [0]),
        (shard) => shard.save(options),
      );
      if (done.failed !== undefined) throw done.failed;
    });
  }

  /** Compacts every shard, in parallel (each shard's compaction is its own save). */
  compact(options?: TaskOptions): Promise<void> {
    return this.#write(async () => {
      const done = await this.#settle(
        this.shards.map(() => [0]),
        (shard) => shard.compact(options),
      );
      if (done.failed !== undefined) throw done.failed;
    });
  }

  /**
   * Recall@k of the merged search against the merged exact search: every shard answers each
   * query twice, with its index (at `params` over its own defaults) and by brute force
   * (`params.exact`); each pair of answers is merged as {@link ShardedStore.search} merges, and
   * recall is the fraction of the global exact top-k the merged search found.
   *
   * Unlike a single store, `queries` is **required**: a sharded store cannot sample its own
   * vectors (rejects with `invalid_argument`). `sample` is ignored. Never partial: a failed
   * shard fails the call. `signal` is checked before each pass over the queries. Each shard
   * gets all queries at once (one {@link ShardSearchMany.searchMany} call if it has one);
   * `timeoutMs` does not apply.
   */
  measureRecall(options: MeasureRecallOptions): Promise<RecallReport> {
    return this.#read(async () => {
      const { k, queries, signal } = checkRecallOptions(options);
      if (options.params !== undefined && (typeof options.params !== "object" || options.params === null || Array.isArray(options.params))) {
        throw quiverError("invalid_argument", "params must be an object");
      }
      const params = { ...options.params, exact: false };
      const truth = await this.#exactTruth(queries, k, signal);
      const recall = await this.#recallAt(queries, k, params, truth, signal);
      const defaults = await this.#call(0, (s) => s.stats(), true);
      return { recall, k, queries: queries.length, params: { ...defaults.searchDefaults, ...definedKnobs(options.params) } };
    });
  }

  /**
   * Finds the smallest per-shard `efSearch` (HNSW) or `nprobe` (IVF) whose **merged** recall@k
   * (see {@link ShardedStore.measureRecall}) reaches `targetRecall`, sets it as every shard's
   * default ({@link QuiverStore.setSearchDefaults}; persisted by each shard's next save) and
   * returns the operating point. The search is a binary search, as for one store: `efSearch`
   * from `k` to 4096, `nprobe` from 1 to `nlist`. If even the largest value misses the target,
   * that value is set and `reached` is `false`.
   *
   * `queries` is required (see {@link ShardedStore.measureRecall}). Rejects with `unsupported`
   * for exact indexes (nothing to tune). An IVF shard that has not trained yet answers
   * exactly, so it reaches any target at `nprobe` 1: train (add enough vectors) before tuning.
   * `signal` is checked between evaluations.
   */
  tune(options: TuneOptions): Promise<TuneResult> {
    return this.#write(async () => {
      const { k, queries, signal } = checkRecallOptions(options);
      const target = options.targetRecall;
      if (typeof target !== "number" || !(target > 0 && target <= 1)) {
        throw quiverError("invalid_argument", `targetRecall must be a number in (0, 1], got ${String(target)}`);
      }
      const range = tuneRange(this.index, k);
      if (range === undefined) throw quiverError("unsupported", `tuning ${this.index}: it is exact, there is no knob`);
      const { knob, low, high } = range;
      const truth = await this.#exactTruth(queries, k, signal);
      const tried = new Map<number, number>();
      const recallAt = async (value: number) => {
        const known = tried.get(value);
        if (known !== undefined) return known;
        const r = await this.#recallAt(queries, k, { [knob]: value }, truth, signal);
        tried.set(value, r);
        return r;
      };
      let value = high;
      if ((await recallAt(high)) >= target) {
        // Invariant: recall(hi) reaches the target; everything below lo misses it.
        let [lo, hi] = [low, high];
        while (lo < hi) {
          const mid = lo + Math.floor((hi - lo) / 2);
          if ((await recallAt(mid)) >= target) hi = mid;
          else lo = mid + 1;
        }
        value = hi;
      }
      const recall = await recallAt(value);
      signal?.throwIfAborted();
      const done = await this.#settle(
        this.shards.map(() => [0]),
        (shard) => shard.setSearchDefaults({ [knob]: value }),
      );
      if (done.failed !== undefined) throw done.failed;
      const defaults = await this.#call(0, (s) => s.stats(), true);
      return { knob, value, recall, reached: recall >= target, queries: queries.length, params: defaults.searchDefaults };
    });
  }

  /**
   * Sets every shard's search defaults (see {@link QuiverStore.setSearchDefaults}), in
   * parallel; resolves to shard 0's new defaults. If a shard fails, the others keep the new
   * values and the call rejects naming the shard.
   */
  setSearchDefaults(params: SearchParams): Promise<SearchParams> {
    return this.#write(async () => {
      const results: SearchParams[] = [];
      const done = await this.#settle(
        this.shards.map(() => [0]),
        async (shard, _part, i) => {
          results[i] = await shard.setSearchDefaults(params);
        },
      );
      if (done.failed !== undefined) throw done.failed;
      return results[0] ?? {};
    });
  }

  /**
   * Every query on every shard, merged per query: one {@link ShardSearchMany.searchMany} call
   * per shard when the shard has it (one round trip), else the shard's searches all at once.
   */
  async #scatterMany(queries: readonly VectorInput[], k: number, params: SearchParams, signal: AbortSignal | undefined): Promise<SearchHit<M>[][]> {
    signal?.throwIfAborted();
    const requests = queries.map((vector) => ({ vector, k, params }));
    const perShard = await Promise.all(
      this.shards.map((_, i) =>
        this.#call(
          i,
          (s) => {
            const many = (s as Partial<ShardSearchMany<M>>).searchMany;
            return typeof many === "function" ? many.call(s, requests) : Promise.all(requests.map((r) => s.search(r)));
          },
          // A batch of searches is not one read: `timeoutMs` is meant for single ones.
          false,
        ),
      ),
    );
    return requests.map((_, q) => mergeTopK(perShard.map((lists) => lists[q] ?? []), k, this.metric));
  }

  /** The merged exact top-k ids of each query. */
  async #exactTruth(queries: readonly VectorInput[], k: number, signal: AbortSignal | undefined): Promise<Set<string>[]> {
    const merged = await this.#scatterMany(queries, k, { exact: true }, signal);
    return merged.map((hits) => new Set(hits.map((h) => h.id)));
  }

  /** Recall of the merged search at `params` against `truth`, found over expected. */
  async #recallAt(queries: readonly VectorInput[], k: number, params: SearchParams, truth: readonly Set<string>[], signal: AbortSignal | undefined): Promise<number> {
    const merged = await this.#scatterMany(queries, k, params, signal);
    let found = 0;
    let expected = 0;
    merged.forEach((hits, q) => {
      const want = truth[q] ?? new Set<string>();
      expected += want.size;
      for (const h of hits) if (want.has(h.id)) found++;
    });
    return expected === 0 ? 1 : found / expected;
  }

  /** Sums of the shards' stats; `shards` lists each shard's own. */
  stats(): Promise<StoreStats & { shards: StoreStats[] }> {
    return this.#read(async () => {
      const all = await Promise.all(this.shards.map((_, i) => this.#call(i, (s) => s.stats(), true)));
      const [first] = all as [StoreStats];
      return {
        ...first,
        name: this.name,
        count: all.reduce((n, s) => n + s.count, 0),
        memoryBytes: all.reduce((n, s) => n + s.memoryBytes, 0),
        simd: all.every((s) => s.simd),
        shards: all,
      };
    });
  }

  /** Closes every shard (after calls already made), then runs `onClose`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#lastWrite, ...this.#reads]);
    await Promise.allSettled(this.shards.map((s) => s.close()));
    await this.#onClose?.();
  }

  // --- plumbing ---

  #closedError(): QuiverError {
    return quiverError("closed", `sharded store ${JSON.stringify(this.name)} is closed`);
  }

  /** Runs a write after every earlier call, alone. */
  #write<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const before = [this.#lastWrite, ...this.#reads];
    const gate = deferred();
    this.#lastWrite = gate.promise;
    return (async () => {
      try {
        await Promise.allSettled(before);
        return await run();
      } finally {
        gate.resolve();
      }
    })();
  }

  /** Runs a read after the last earlier write, beside other reads. */
  #read<T>(run: () => Promise<T> | T): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const after = this.#lastWrite;
    const gate = deferred();
    this.#reads.add(gate.promise);
    return (async () => {
      try {
        await after;
        return await run();
      } finally {
        this.#reads.delete(gate.promise);
        gate.resolve();
      }
    })();
  }

  /** Groups `values` by shard, keeping their order within each shard. */
  #split<T>(values: readonly T[], idOf: (value: T) => unknown): T[][] {
    if (!Array.isArray(values)) throw quiverError("invalid_argument", "expected an array");
    const parts: T[][] = this.shards.map(() => []);
    for (const [i, value] of values.entries()) {
      const id = idOf(value);
      if (typeof id !== "string") throw quiverError("invalid_id", `item ${i}: id must be a string`);
      parts[this.shardOf(id)]?.push(value);
    }
    return parts;
  }

  /** Per-shard task options: cancellation passes through; progress sums over shards. */
  #taskFor(parts: readonly unknown[][], options: TaskOptions | undefined): (shard: number) => TaskOptions | undefined {
    if (options === undefined) return () => undefined;
    const { signal, onProgress } = options;
    if (onProgress === undefined) return () => (signal === undefined ? undefined : { signal });
    const total = parts.reduce((n, p) => n + p.length, 0);
    const doneBy = new Map<number, number>();
    return (shard) => ({
      signal,
      onProgress: (p) => {
        doneBy.set(shard, p.done);
        let done = 0;
        for (const n of doneBy.values()) done += n;
        onProgress({ phase: p.phase, done, total });
      },
    });
  }

  /** Runs `op` on every shard with a non-empty part, in parallel; reports who succeeded. */
  async #settle<T, R>(
    parts: readonly T[][],
    op: (shard: QuiverStore<M>, part: T[], i: number) => Promise<R>,
  ): Promise<{ parts: readonly T[][]; succeeded: number[]; failed: unknown }> {
    const involved = parts.flatMap((p, i) => (p.length > 0 ? [i] : []));
    const settled = await Promise.allSettled(involved.map((i) => this.#call(i, (s) => op(s, parts[i] ?? [], i), false)));
    const succeeded = involved.filter((_, j) => settled[j]?.status === "fulfilled");
    const firstFailure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    return { parts, succeeded, failed: firstFailure?.reason };
  }

  /**
   * Undoes a partly failed write on the shards that succeeded, then rethrows its error (or, for
   * a cancelled call, `signal.reason`, as a single store does).
   */
  async #rollback<T>(
    done: { parts: readonly T[][]; succeeded: number[]; failed: unknown },
    undo: (shard: QuiverStore<M>, part: T[], i: number) => Promise<unknown>,
    signal?: AbortSignal,
  ): Promise<never> {
    const results = await Promise.allSettled(done.succeeded.map((i) => undo(this.shards[i] as QuiverStore<M>, done.parts[i] ?? [], i)));
    const broken = done.succeeded.filter((_, j) => results[j]?.status === "rejected");
    if (broken.length > 0) {
      const error = done.failed as { message?: string; shard?: number };
      throw new ShardError(
        "shard_failed",
        error.shard ?? broken[0] ?? 0,
        `${error.message ?? String(done.failed)}; rolling back shards ${broken.join(", ")} also failed: the store may be inconsistent`,
        done.failed,
      );
    }
    if (signal?.aborted === true) throw signal.reason;
    throw done.failed;
  }

  /**
   * Calls one shard; its failure becomes a {@link ShardError} naming it: the shard's own code
   * for its {@link QuiverError}s (input errors read the same as in one store), `shard_failed`
   * for anything else and for timeouts (reads only).
   */
  async #call<R>(i: number, op: (shard: QuiverStore<M>) => Promise<R>, timed: boolean): Promise<R> {
    const shard = this.shards[i] as QuiverStore<M>;
    const count = this.shards.length;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = op(shard);
      if (!timed || this.#timeoutMs === undefined) return await work;
      const ms = this.#timeoutMs;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ShardError("shard_failed", i, `shard ${i} of ${count} timed out after ${ms} ms`)), ms);
      });
      work.catch(() => {}); // a late failure after the timeout is already reported
      return await Promise.race([work, timeout]);
    } catch (error) {
      if (error instanceof ShardError) throw error;
      if (isQuiverError(error) && error.code !== "closed") {
        throw new ShardError(error.code, i, `shard ${i} of ${count}: ${error.message}`, error);
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ShardError("shard_failed", i, `shard ${i} of ${count} failed: ${message}`, error);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}

/** Checks the options shared by `measureRecall` and `tune` on a sharded store. */
function checkRecallOptions(options: MeasureRecallOptions | TuneOptions): { k: number; queries: readonly VectorInput[]; signal: AbortSignal | undefined } {
  if (typeof options !== "object" || options === null) throw quiverError("invalid_argument", "options must be an object");
  const { k, queries, signal } = options;
  if (k === undefined) throw quiverError("invalid_k", "k is required");
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > 10_000) throw quiverError("invalid_k", `k must be an integer from 1 to 10000, got ${String(k)}`);
  if (!Array.isArray(queries) || queries.length === 0) {
    throw quiverError("invalid_argument", "a sharded store needs queries: it cannot sample its own stored vectors");
  }
  if (signal !== undefined && typeof signal?.throwIfAborted !== "function") throw quiverError("invalid_argument", "options.signal must be an AbortSignal");
  return { k, queries, signal };
}

/** The knob of an index spec and its tuning range (as the core's `tune`), or `undefined` for exact ones. */
function tuneRange(index: string, k: number): { knob: "efSearch" | "nprobe"; low: number; high: number } | undefined {
  if (/^HNSW/i.test(index)) return { knob: "efSearch", low: k, high: Math.max(4096, k) };
  const ivf = /^IVF(\d+)/i.exec(index);
  if (ivf) return { knob: "nprobe", low: 1, high: Number(ivf[1]) };
  return undefined;
}

/** The knobs of `params` that are set. */
function definedKnobs(params: SearchParams | undefined): SearchParams {
  const out: SearchParams = {};
  if (params?.efSearch !== undefined) out.efSearch = params.efSearch;
  if (params?.nprobe !== undefined) out.nprobe = params.nprobe;
  if (params?.rerank !== undefined) out.rerank = params.rerank;
  return out;
}

/**
 * Merges per-shard top-k lists (each best first) into the global top-k, best first: higher
 * scores first for `cosine`/`dot`, lower first for `l2`; ties by shard index, then by the
 * shard's own order.
 */
export function mergeTopK<M extends object>(lists: readonly (readonly SearchHit<M>[])[], k: number, metric: Metric): SearchHit<M>[] {
  const sign = metric === "l2" ? 1 : -1;
  const all: { hit: SearchHit<M>; shard: number; rank: number }[] = [];
  lists.forEach((list, shard) => list.forEach((hit, rank) => all.push({ hit, shard, rank })));
  all.sort((a, b) => sign * (a.hit.score - b.hit.score) || a.shard - b.shard || a.rank - b.rank);
  return all.slice(0, k).map((e) => e.hit);
}

/**
 * Copies the items named by `ids` from `source` into `target` (typically a {@link ShardedStore}
 * with another shard count), in batches: the offline N→M re-sharding step. The store has no
 * iteration API, so the caller supplies the ids (its own list of what it stored). Items are
 * re-routed by `target`; `source` is left untouched. Ids missing from `source` fail with
 * `not_found` before anything of their batch is written.
 * @returns the number of items copied.
 */
export async function reshard<M extends object = Metadata>(
  source: QuiverStore<M>,
  target: QuiverStore<M>,
  ids: Iterable<string>,
  options: { batchSize?: number | undefined } & TaskOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 1024;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw quiverError("invalid_argument", "batchSize must be a positive integer");
  if (source.dimension !== target.dimension || source.metric !== target.metric) {
    throw quiverError("invalid_argument", "source and target must have the same dimension and metric");
  }
  let copied = 0;
  let batch: string[] = [];
  const flush = async () => {
    const found = await Promise.all(batch.map((id) => source.get(id)));
    const missing = batch.find((_, i) => found[i] === undefined);
    if (missing !== undefined) throw quiverError("not_found", `id ${JSON.stringify(missing)} is not in the source store`);
    options.signal?.throwIfAborted();
    await target.add(found as StoredItem<M>[], options.signal === undefined ? undefined : { signal: options.signal });
    copied += batch.length;
    batch = [];
  };
  for (const id of ids) {
    batch.push(id);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return copied;
}
