/**
 * Cloudflare template: one logical store over N Durable Object shards (`quiver-vectors/cloudflare`).
 *
 * - {@link QuiverShard}: a Durable Object class holding one {@link VectorStore} (one shard),
 *   rebuilt from its Durable Object storage when the object starts.
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
 * `GET /stats`. Vectors travel as JSON number arrays (float32 values round-trip exactly).
 * Errors answer with status 400 (input) or 502 (a shard failed) and `{ code, message, shard }`.
 *
 * **Storage (interim):** each shard keeps one Durable Object storage key per item
 * (`i:<id>` → vector and metadata; far below the value size limit) and re-adds them in key
 * order when the object starts. Exact (`Flat`) results are therefore the same after a restart;
 * an HNSW graph is rebuilt in key order, so it may differ slightly from before. This will move
 * to the persistence module's chunked Durable Object adapter (saving the built index).
 *
 * @packageDocumentation
 */
import { VectorStore, ShardedStore, isQuiverError, QuiverError } from "./workerd.js";
import type { Item, Metadata, Metric, QuiverStore, SearchHit, SearchRequest, StoredItem, StoreStats, TaskOptions, MeasureRecallOptions, RecallReport, TuneOptions, TuneResult } from "./types.js";

/** The part of Durable Object storage the shard uses. */
export interface DurableObjectStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(entries: Record<string, unknown>): Promise<void>;
  put<T>(key: string, value: T): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T = unknown>(options?: { prefix?: string; start?: string; limit?: number }): Promise<Map<string, T>>;
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
}

interface StoredRecord {
  v: number[];
  m: object | null;
}

/** Durable Object storage accepts at most 128 keys per `put`/`delete` call. */
const KEYS_PER_CALL = 128;

function errorResponse(error: unknown): Response {
  if (isQuiverError(error)) {
    const shard = (error as { shard?: number }).shard;
    const status = error.code === "shard_failed" ? 502 : error.code === "not_found" ? 404 : 400;
    return Response.json({ code: error.code, message: error.message, shard }, { status });
  }
  return Response.json({ code: "shard_failed", message: error instanceof Error ? error.message : String(error) }, { status: 500 });
}

/**
 * The shard Durable Object: one {@link VectorStore}, rebuilt from storage on start. Export it
 * from your Worker and bind it (e.g. as `SHARDS`). Speaks the internal protocol of
 * {@link DurableObjectShard}: `POST /<op>` with JSON arguments.
 */
export class QuiverShard {
  readonly #state: DurableObjectStateLike;
  #store: VectorStore | undefined;

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#state = state;
    void state.blockConcurrencyWhile(async () => {
      const config = await state.storage.get<ShardConfig & { name: string }>("config");
      if (config !== undefined) await this.#open(config);
    });
  }

  async #open(config: ShardConfig & { name: string }): Promise<VectorStore> {
    const store = await VectorStore.create({ ...config });
    const items: Item[] = [];
    let start: string | undefined;
    for (;;) {
      const page = await this.#state.storage.list<StoredRecord>({ prefix: "i:", limit: 1000, ...(start === undefined ? {} : { start }) });
      for (const [key, record] of page) {
        if (key === start) continue;
        items.push({ id: key.slice(2), vector: Float32Array.from(record.v), metadata: record.m as Metadata | null });
      }
      if (page.size < 1000) break;
      start = [...page.keys()].at(-1);
    }
    if (items.length > 0) await store.add(items);
    this.#store = store;
    return store;
  }

  /** Awaits a write to storage; if it fails, rebuilds the in-memory store from storage. */
  async #persisted(writes: Promise<unknown>[]): Promise<void> {
    try {
      await Promise.all(writes);
    } catch (error) {
      const config = await this.#state.storage.get<ShardConfig & { name: string }>("config");
      this.#store = undefined;
      if (config !== undefined) await this.#open(config);
      throw error;
    }
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const op = new URL(request.url).pathname.slice(1);
      const body = (request.method === "POST" ? await request.json() : {}) as Record<string, unknown>;
      if (op === "init") {
        const config = body as unknown as ShardConfig & { name: string };
        if (this.#store === undefined) {
          await this.#state.storage.put("config", config);
          await this.#open(config);
        }
        const s = this.#store as VectorStore;
        return Response.json({ name: s.name, dimension: s.dimension, metric: s.metric, index: s.index });
      }
      const store = this.#store;
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
          // The store validated and normalized them: persist what it holds.
          const stored = await Promise.all(items.map((it) => store.get(it.id)));
          // Issued with no await in between, the puts are one atomic write (Durable Object
          // write coalescing); if it fails, memory is reloaded from storage to match it.
          const writes: Promise<void>[] = [];
          for (let i = 0; i < stored.length; i += KEYS_PER_CALL) {
            const entries: Record<string, StoredRecord> = {};
            for (const s of stored.slice(i, i + KEYS_PER_CALL)) {
              if (s !== undefined) entries[`i:${s.id}`] = { v: Array.from(s.vector), m: s.metadata ?? null };
            }
            writes.push(this.#state.storage.put(entries));
          }
          await this.#persisted(writes);
          return Response.json({ ok: true });
        }
        case "delete": {
          const ids = body.ids as string[];
          const n = await store.delete(ids);
          const writes: Promise<number>[] = [];
          for (let i = 0; i < ids.length; i += KEYS_PER_CALL) writes.push(this.#state.storage.delete(ids.slice(i, i + KEYS_PER_CALL).map((id) => `i:${id}`)));
          await this.#persisted(writes);
          return Response.json({ deleted: n });
        }
        case "get": {
          const item = await store.get(body.id as string);
          return Response.json({ item: item === undefined ? null : { ...item, vector: Array.from(item.vector) } });
        }
        case "search":
          return Response.json({ hits: await store.search(body as unknown as SearchRequest) });
        case "stats":
          return Response.json(await store.stats());
        default:
          return Response.json({ code: "invalid_argument", message: `unknown operation ${op}` }, { status: 404 });
      }
    } catch (error) {
      return errorResponse(error);
    }
  }
}

/** A {@link QuiverStore} over one {@link QuiverShard} object (a `fetch` per call). */
export class DurableObjectShard<M extends object = Metadata> implements QuiverStore<M> {
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
  /** Every write is already persisted by the shard: nothing to do. */
  async save(_options?: TaskOptions): Promise<void> {}
  /** The shard stores items, not a snapshot and log: nothing to compact. */
  async compact(_options?: TaskOptions): Promise<void> {}
  /** Not available through the Durable Object client yet; rejects with `unsupported`. */
  measureRecall(_options: MeasureRecallOptions): Promise<RecallReport> {
    return Promise.reject(new QuiverError("unsupported", "measureRecall is not available on a Durable Object shard yet"));
  }

  /** Not available through the Durable Object client yet; rejects with `unsupported`. */
  tune(_options: TuneOptions): Promise<TuneResult> {
    return Promise.reject(new QuiverError("unsupported", "tune is not available on a Durable Object shard yet"));
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
          default:
            return Response.json({ code: "invalid_argument", message: `unknown operation ${op}` }, { status: 404 });
        }
      } catch (error) {
        return errorResponse(error);
      }
    },
  };
}
