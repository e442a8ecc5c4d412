/**
 * Cloudflare template: one logical store over N Durable Object shards (`quiver-vectors/cloudflare`).
 *
 * - {@link QuiverShard}: a Durable Object class holding one {@link VectorStore} (one shard),
 *   saved in its Durable Object storage after every change and opened from it after a restart.
 * - {@link DurableObjectShard}: a {@link QuiverStore} client of one shard object, over `fetch`.
 * - {@link createRouter}: a Worker `fetch` handler that routes requests to N shard objects
 *   through a {@link ShardedStore} (hash routing, scatter-gather search, merge).
 *
 * ```js
 * // worker.js (wrangler: a durable_objects binding SHARDS -> class QuiverShard)
 * import { QuiverShard, createRouter } from "quiver-vectors/cloudflare";
 * export { QuiverShard };
 * export default createRouter({ binding: "SHARDS", shards: 4, dimension: 384 });
 * ```
 *
 * Requests to the router: `POST /add` `{ items }`, `POST /upsert` `{ items }`, `POST /delete`
 * `{ ids }`, `POST /get` `{ id }`, `POST /search` `{ vector, k, filter?, params? }`,
 * `GET /stats`, `POST /measureRecall` `{ k, queries, params? }` and `POST /tune`
 * `{ targetRecall, k, queries }` (the merged search's recall and tuning: {@link ShardedStore.tune}).
 * Vectors travel as JSON number arrays (float32 values round-trip exactly). Errors answer with
 * status 400 (input), 404 (`not_found`) or 502 (a shard failed) and `{ code, message, shard }`.
 *
 * **Storage:** each shard keeps its store in its Durable Object storage through
 * {@link DurableObjectStorageAdapter} (the snapshot format, split under the per-key value
 * limit), saves before answering every change, and opens it on the first request after a
 * restart: results are the same after a restart or eviction, HNSW graphs included.
 *
 * @packageDocumentation
 */
import { VectorStore, ShardedStore, isQuiverError, QuiverError, DurableObjectStorageAdapter, type ShardSearchMany } from "./workerd.js";
import type { DurableObjectStorageLike as AdapterStorageLike } from "./storage/durable-object.js";
import type {
  Item,
  Metadata,
  Metric,
  QuiverStore,
  SearchHit,
  SearchParams,
  SearchRequest,
  StoredItem,
  StoreStats,
  TaskOptions,
  MeasureRecallOptions,
  RecallReport,
  TuneOptions,
  TuneResult,
} from "./types.js";

/**
 * The part of Durable Object storage the shard uses: what {@link DurableObjectStorageAdapter}
 * needs, plus single-key reads and writes for the shard's configuration.
 */
export interface DurableObjectStorageLike extends AdapterStorageLike {
  get(keys: string[]): Promise<Map<string, unknown>>;
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(entries: Record<string, unknown>): Promise<void>;
  put<T>(key: string, value: T): Promise<void>;
  list<T = unknown>(options?: { prefix?: string }): Promise<Map<string, T>>;
}

/** The part of `DurableObjectState` the shard uses. */
export interface DurableObjectStateLike {
  storage: DurableObjectStorageLike;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** The part of a Durable Object namespace binding the router uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): StubLike;
}

/** A Durable Object stub: what `namespace.get(id)` returns. */
export interface StubLike {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

/** A shard's name and configuration as it reports them. */
export interface ShardInfo {
  name: string;
  dimension: number;
  metric: Metric;
  index: string;
}

/** A shard's configuration, fixed when it is created. */
export interface ShardConfig {
  dimension: number;
  metric?: Metric | undefined;
  index?: string | undefined;
  seed?: number | undefined;
  /**
   * Metadata fields to index for filtering in every shard (see `CreateOptions.indexedFields`).
   * Applied when a shard's store is created; a shard that already exists keeps its own.
   */
  indexedFields?: readonly string[] | undefined;
  /**
   * `false` drops each shard's full vectors once its quantized index is trained (see
   * `CreateOptions.keepVectors`): `get` then rejects with `unsupported`, as do `delete` and
   * upserts of stored ids through the router (its cross-shard rollback reads items back).
   */
  keepVectors?: boolean | undefined;
}

/** Options of the {@link QuiverShard} class, set with {@link QuiverShard.configure}. */
export interface QuiverShardOptions {
  /** Largest value stored in one storage key; larger ones are split (default 128 KiB). */
  maxValueBytes?: number | undefined;
}

/** The storage key of the shard's configuration (outside the store's `${name}/` prefix). */
const CONFIG_KEY = "config";
/** Storage key prefix of the interim one-key-per-item layout (migrated on open). */
const LEGACY_PREFIX = "i:";

function errorResponse(error: unknown): Response {
  if (isQuiverError(error)) {
    const shard = (error as { shard?: number }).shard;
    const status = error.code === "shard_failed" ? 502 : error.code === "not_found" ? 404 : 400;
    return Response.json({ code: error.code, message: error.message, shard }, { status });
  }
  return Response.json({ code: "shard_failed", message: error instanceof Error ? error.message : String(error) }, { status: 500 });
}

/** Queries as they cross in JSON (number arrays) back to vectors. */
function vectorsOf(queries: unknown): Float32Array[] | undefined {
  return Array.isArray(queries) ? queries.map((q) => Float32Array.from(q as number[])) : undefined;
}

/**
 * The shard Durable Object: one {@link VectorStore} kept in the object's own storage through
 * {@link DurableObjectStorageAdapter} (the persistence module's snapshot format, values split
 * under the per-key size limit). Export it from your Worker and bind it (e.g. as `SHARDS`).
 * Speaks the internal protocol of {@link DurableObjectShard}: `POST /<op>` with JSON arguments.
 *
 * **Persistence policy.** The store is opened from storage on the first request after the
 * object starts (or is evicted and restarted), with the built index as saved: searches answer
 * exactly as before the restart, HNSW graphs included. Every call that changes the store
 * (`add`, `upsert`, `delete`, `tune`, `setSearchDefaults`) saves before it answers (an
 * incremental save: what changed since the last one); if the save fails, the call fails and
 * the in-memory store is dropped and reopened from storage on the next request, so the shard
 * never answers with changes that are not stored.
 * Calls are handled one at a time, in arrival order.
 */
export class QuiverShard {
  static #options: QuiverShardOptions = {};
  readonly #state: DurableObjectStateLike;
  readonly #adapter: DurableObjectStorageAdapter;
  #store: VectorStore | undefined;
  #opened: Promise<VectorStore | undefined> | undefined;
  /** The tail of the call queue. */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * Sets options for every shard object of this isolate (call at module scope, before the
   * first request): e.g. `QuiverShard.configure({ maxValueBytes: 2 ** 20 })` on SQLite-backed
   * objects, whose per-value limit is higher.
   */
  static configure(options: QuiverShardOptions): void {
    QuiverShard.#options = { ...options };
  }

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#state = state;
    this.#adapter = new DurableObjectStorageAdapter(state.storage, { maxValueBytes: QuiverShard.#options.maxValueBytes });
  }

  /** The store, opened from storage on first use; `undefined` if this shard was never initialized. */
  #current(): Promise<VectorStore | undefined> {
    if (this.#store !== undefined) return Promise.resolve(this.#store);
    this.#opened ??= (async () => {
      const config = await this.#state.storage.get<ShardConfig & { name: string }>(CONFIG_KEY);
      return config === undefined ? undefined : this.#open(config);
    })().finally(() => {
      this.#opened = undefined;
    });
    return this.#opened;
  }

  async #open(config: ShardConfig & { name: string }): Promise<VectorStore> {
    const store = await VectorStore.open({ ...config, storage: this.#adapter });
    this.#store = store;
    await this.#migrate(store);
    return store;
  }

  /**
   * Moves items of the interim layout (one `i:<id>` key per item) into the store, saves, and
   * deletes the old keys in the same call: a shard written by an earlier template keeps its data.
   */
  async #migrate(store: VectorStore): Promise<void> {
    const listed = await this.#state.storage.list<{ v?: unknown; m?: object | null }>({ prefix: LEGACY_PREFIX });
    // Only interim records: a store named "i:…" keeps its own keys under "i:…/".
    const legacy = new Map([...listed].filter(([key, record]) => !key.startsWith(`${store.name}/`) && Array.isArray(record?.v)));
    if (legacy.size === 0) return;
    const items: Item[] = [];
    for (const [key, record] of legacy) {
      const id = key.slice(LEGACY_PREFIX.length);
      if ((await store.get(id)) === undefined) items.push({ id, vector: Float32Array.from(record.v as number[]), metadata: (record.m ?? null) as Metadata | null });
    }
    if (items.length > 0) await store.add(items);
    await store.save();
    const keys = [...legacy.keys()];
    for (let i = 0; i < keys.length; i += 128) await this.#state.storage.delete(keys.slice(i, i + 128));
  }

  /**
   * Saves after a change. If saving fails, drops the in-memory store (the next request reopens
   * it from storage, so it never answers with changes that are not stored) and rethrows.
   */
  async #save(store: VectorStore): Promise<void> {
    try {
      await store.save();
    } catch (error) {
      this.#store = undefined;
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  /** Handles one internal-protocol request; calls are queued, one at a time. */
  fetch(request: Request): Promise<Response> {
    const run = this.#tail.then(() => this.#handle(request));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #handle(request: Request): Promise<Response> {
    try {
      const op = new URL(request.url).pathname.slice(1);
      const body = (request.method === "POST" ? await request.json() : {}) as Record<string, unknown>;
      let store = await this.#current();
      if (op === "init") {
        if (store === undefined) {
          const config = body as unknown as ShardConfig & { name: string };
          await this.#state.storage.put(CONFIG_KEY, config);
          store = await this.#open(config);
          await this.#save(store);
        }
        return Response.json({ name: store.name, dimension: store.dimension, metric: store.metric, index: store.index });
      }
      if (store === undefined) throw new QuiverError("not_found", "this shard was never initialized");
      switch (op) {
        case "add":
        case "upsert": {
          const items = (body.items as { id: string; vector: number[]; metadata?: object | null }[]).map((it) => ({
            id: it.id,
            vector: Float32Array.from(it.vector),
            metadata: (it.metadata ?? null) as Metadata | null,
          }));
          await store[op](items);
          await this.#save(store);
          return Response.json({ ok: true });
        }
        case "delete": {
          const n = await store.delete(body.ids as string[]);
          await this.#save(store);
          return Response.json({ deleted: n });
        }
        case "get": {
          const item = await store.get(body.id as string);
          return Response.json({ item: item === undefined ? null : { ...item, vector: Array.from(item.vector) } });
        }
        case "search":
          return Response.json({ hits: await store.search(body as unknown as SearchRequest) });
        case "searchMany": {
          const results: SearchHit[][] = [];
          for (const r of body.requests as SearchRequest[]) results.push(await store.search(r));
          return Response.json({ results });
        }
        case "stats":
          return Response.json(await store.stats());
        case "measureRecall":
          return Response.json(await store.measureRecall({ ...(body as unknown as MeasureRecallOptions), queries: vectorsOf(body.queries) }));
        case "tune": {
          const result = await store.tune({ ...(body as unknown as TuneOptions), queries: vectorsOf(body.queries) });
          await this.#save(store);
          return Response.json(result);
        }
        case "setSearchDefaults": {
          const params = await store.setSearchDefaults(body as SearchParams);
          await this.#save(store);
          return Response.json(params);
        }
        default:
          return Response.json({ code: "invalid_argument", message: `unknown operation ${op}` }, { status: 404 });
      }
    } catch (error) {
      return errorResponse(error);
    }
  }
}

/** A {@link QuiverStore} over one {@link QuiverShard} object (a `fetch` per call). */
export class DurableObjectShard<M extends object = Metadata> implements QuiverStore<M>, ShardSearchMany<M> {
  readonly name: string;
  readonly dimension: number;
  readonly metric: Metric;
  readonly index: string;
  #closed = false;
  readonly #stub: StubLike;

  private constructor(stub: StubLike, info: { name: string; dimension: number; metric: Metric; index: string }) {
    this.#stub = stub;
    this.name = info.name;
    this.dimension = info.dimension;
    this.metric = info.metric;
    this.index = info.index;
  }

  /** Connects to the shard object `name` in `namespace`, creating its store if new. */
  static async connect<M extends object = Metadata>(namespace: DurableObjectNamespaceLike, name: string, config: ShardConfig): Promise<DurableObjectShard<M>> {
    const stub = namespace.get(namespace.idFromName(name));
    const info = await call(stub, "init", { ...config, name });
    return new DurableObjectShard<M>(stub, info as { name: string; dimension: number; metric: Metric; index: string });
  }

  /**
   * A client of an already initialized shard, from its `info` (what `connect` learned). Durable
   * Object stubs belong to one request: the router attaches fresh stubs per request.
   */
  static attach<M extends object = Metadata>(stub: StubLike, info: ShardInfo): DurableObjectShard<M> {
    return new DurableObjectShard<M>(stub, info);
  }

  /** What {@link DurableObjectShard.attach} needs. */
  get info(): ShardInfo {
    return { name: this.name, dimension: this.dimension, metric: this.metric, index: this.index };
  }

  get closed(): boolean {
    return this.#closed;
  }

  async add(items: readonly Item<M>[], _options?: TaskOptions): Promise<void> {
    await call(this.#stub, "add", { items: items.map(plain) });
  }
  async upsert(items: readonly Item<M>[], _options?: TaskOptions): Promise<void> {
    await call(this.#stub, "upsert", { items: items.map(plain) });
  }
  async delete(ids: string | readonly string[]): Promise<number> {
    return ((await call(this.#stub, "delete", { ids: typeof ids === "string" ? [ids] : ids })) as { deleted: number }).deleted;
  }
  async get(id: string): Promise<StoredItem<M> | undefined> {
    const { item } = (await call(this.#stub, "get", { id })) as { item: { id: string; vector: number[]; metadata?: M } | null };
    return item === null ? undefined : { ...item, vector: Float32Array.from(item.vector) };
  }
  async search(request: SearchRequest): Promise<SearchHit<M>[]> {
    return ((await call(this.#stub, "search", { ...request, vector: Array.from(request.vector) })) as { hits: SearchHit<M>[] }).hits;
  }
  /** Several searches in one request to the shard object (see {@link ShardSearchMany}). */
  async searchMany(requests: readonly SearchRequest[]): Promise<SearchHit<M>[][]> {
    const plainRequests = requests.map((r) => ({ ...r, vector: Array.from(r.vector) }));
    return ((await call(this.#stub, "searchMany", { requests: plainRequests })) as { results: SearchHit<M>[][] }).results;
  }

  /** Every change is already saved by the shard object before it answers: nothing to do. */
  async save(_options?: TaskOptions): Promise<void> {}
  /**
   * Nothing to do from the client: the shard object saves after every change, and its saves
   * compact by the automatic policy (see `docs/format.md`).
   */
  async compact(_options?: TaskOptions): Promise<void> {}
  /**
   * Recall@k of this one shard's search against its exact search, computed in the shard object
   * (see {@link VectorStore.measureRecall}); queries cross as JSON number arrays.
   */
  async measureRecall(options: MeasureRecallOptions): Promise<RecallReport> {
    const { signal: _s, onProgress: _p, ...rest } = options;
    return (await call(this.#stub, "measureRecall", { ...rest, queries: rest.queries?.map((q) => Array.from(q)) })) as RecallReport;
  }

  /**
   * Tunes this one shard's own knob in the shard object and saves it there (see
   * {@link VectorStore.tune}); to tune the merged result of all shards, use
   * {@link ShardedStore.tune} (the router's `POST /tune`).
   */
  async tune(options: TuneOptions): Promise<TuneResult> {
    const { signal: _s, onProgress: _p, ...rest } = options;
    return (await call(this.#stub, "tune", { ...rest, queries: rest.queries?.map((q) => Array.from(q)) })) as TuneResult;
  }

  /** Sets the shard's search defaults and saves them (see {@link VectorStore.setSearchDefaults}). */
  async setSearchDefaults(params: SearchParams): Promise<SearchParams> {
    return (await call(this.#stub, "setSearchDefaults", params)) as SearchParams;
  }

  async stats(): Promise<StoreStats> {
    return (await call(this.#stub, "stats", undefined)) as StoreStats;
  }
  async close(): Promise<void> {
    this.#closed = true;
  }
}

function plain(item: Item<object>): { id: string; vector: number[]; metadata: object | null } {
  return { id: item.id, vector: Array.from(item.vector), metadata: item.metadata ?? null };
}

async function call(stub: StubLike, op: string, body: unknown): Promise<unknown> {
  const response = await stub.fetch(`https://shard/${op}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  const json = (await response.json()) as { code?: string; message?: string };
  if (!response.ok) throw new QuiverError((json.code ?? "shard_failed") as QuiverError["code"], json.message ?? `shard answered ${response.status}`);
  return json;
}

/** Options of {@link createRouter}. */
export interface RouterOptions extends ShardConfig {
  /** The name of the Durable Object namespace binding in `env` (e.g. `"SHARDS"`). */
  binding: string;
  /** Number of shards; objects are named `${name}-${i}`. Changing it needs a re-shard. */
  shards: number;
  /** The logical store's name. Defaults to `"default"`. */
  name?: string | undefined;
  /** Per-shard read timeout (see {@link ShardedOptions}). */
  timeoutMs?: number | undefined;
  /** Let searches return partial results marked `partial` when shards fail. */
  allowPartial?: boolean | undefined;
}

/** A Worker (`export default`) routing store requests to N {@link QuiverShard} objects. */
export function createRouter(options: RouterOptions): { fetch(request: Request, env: Record<string, unknown>): Promise<Response> } {
  const { binding, shards: count, name = "default", timeoutMs, allowPartial, ...config } = options;
  // Shard objects are initialized once per router isolate; stubs are per request (workerd
  // forbids using one request's I/O objects from another request).
  let infos: Promise<ShardInfo[]> | undefined;
  const open = async (env: Record<string, unknown>) => {
    const namespace = env[binding] as DurableObjectNamespaceLike;
    const stub = (i: number) => namespace.get(namespace.idFromName(`${name}-${i}`));
    infos ??= Promise.all(
      Array.from({ length: count }, async (_, i) => (await DurableObjectShard.connect(namespace, `${name}-${i}`, config)).info),
    ).catch((error: unknown) => {
      infos = undefined;
      throw error;
    });
    const shards = (await infos).map((info, i) => DurableObjectShard.attach(stub(i), info));
    return new ShardedStore(shards, { name, timeoutMs, allowPartial });
  };
  return {
    async fetch(request, env) {
      try {
        const s = await open(env);
        const op = new URL(request.url).pathname.slice(1);
        const body = (request.method === "POST" ? await request.json() : {}) as Record<string, unknown>;
        switch (op) {
          case "add":
          case "upsert":
            await s[op](body.items as Item[]);
            return Response.json({ ok: true });
          case "delete":
            return Response.json({ deleted: await s.delete(body.ids as string[]) });
          case "get": {
            const item = await s.get(body.id as string);
            return Response.json({ item: item === undefined ? null : { ...item, vector: Array.from(item.vector) } });
          }
          case "search": {
            const hits = await s.search(body as unknown as SearchRequest);
            return Response.json({ hits: [...hits], partial: hits.partial === true });
          }
          case "stats":
            return Response.json(await s.stats());
          case "measureRecall":
            return Response.json(await s.measureRecall({ ...(body as unknown as MeasureRecallOptions), queries: vectorsOf(body.queries) }));
          case "tune":
            return Response.json(await s.tune({ ...(body as unknown as TuneOptions), queries: vectorsOf(body.queries) }));
          default:
            return Response.json({ code: "invalid_argument", message: `unknown operation ${op}` }, { status: 404 });
        }
      } catch (error) {
        return errorResponse(error);
      }
    },
  };
}
