/**
 * The page side of the Web Worker front end: {@link WorkerVectorStore} has the
 * {@link QuiverStore} API of {@link VectorStore}, but the store lives in a worker running
 * {@link serveWorker}, so indexing and search never block the page.
 *
 * Inputs are checked here, before anything is sent, so errors are the same as in-thread. Item
 * vectors are packed into one `Float32Array` per call whose buffer is *transferred*, not
 * cloned; query vectors are copied once and transferred; `get` transfers the vector back. Your
 * own arrays are never detached.
 *
 * @packageDocumentation
 */
import { quiverError, type QuiverError } from "../errors.js";
import type {
  CreateOptions,
  Item,
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
  TaskOptions,
  TuneOptions,
  TuneResult,
} from "../types.js";
import { checkId, checkIds, checkOptions, checkSearch, checkTask, packItems, packQueries, requireOptions, type CheckedTask } from "../validate.js";
import { TAG, fromWire, type MessageEndpoint, type Op, type Reply, type Request } from "./protocol.js";

/** Options of {@link WorkerVectorStore.create}: as {@link CreateOptions}, storage aside. */
export type WorkerCreateOptions = Omit<CreateOptions, "storage">;
/** Options of {@link WorkerVectorStore.open}: as {@link OpenOptions}, storage aside. */
export type WorkerOpenOptions = Omit<OpenOptions, "storage">;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  task: CheckedTask | undefined;
  onAbort: (() => void) | undefined;
  progressError?: { error: unknown };
}

interface StoreInfo {
  handle: number;
  name: string;
  dimension: number;
  metric: Metric;
  index: string;
}

/** One endpoint's request/reply bookkeeping, shared by every store served through it. */
class Connection {
  readonly #endpoint: MessageEndpoint;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #failed: QuiverError | undefined;

  constructor(endpoint: MessageEndpoint) {
    this.#endpoint = endpoint;
    endpoint.addEventListener("message", (event: { data: unknown }) => this.#onMessage(event.data as Reply));
    endpoint.addEventListener("error", (event: { message?: string }) => {
      this.#fail(`the worker failed: ${event?.message ?? "unknown error"}`);
    });
    endpoint.start?.();
  }

  call(op: Op, store: number, args: unknown[], transfer: ArrayBuffer[] = [], task?: CheckedTask): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const signal = task?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, task, onAbort: undefined };
      if (signal) {
        pending.onAbort = () => this.#abort(id);
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      const request: Request = { tag: TAG, id, op, store, args, cancellable: Boolean(signal || task?.onProgress), progress: Boolean(task?.onProgress) };
      this.#pending.set(id, pending);
      try {
        this.#endpoint.postMessage(request, transfer);
      } catch (error) {
        this.#settle(id);
        reject(quiverError("invalid_argument", `cannot send this ${op} request to the worker: ${(error as Error).message}`));
      }
    });
  }

  #abort(id: number): void {
    const request: Request = { tag: TAG, id, op: "abort" };
    this.#endpoint.postMessage(request, []);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    if (pending.onAbort) pending.task?.signal?.removeEventListener("abort", pending.onAbort);
    return pending;
  }

  #onMessage(reply: Reply): void {
    if (typeof reply !== "object" || reply === null || reply.tag !== TAG) return;
    if ("progress" in reply) {
      const pending = this.#pending.get(reply.id);
      if (!pending || pending.progressError) return;
      try {
        pending.task?.onProgress?.(reply.progress);
      } catch (error) {
        // A throwing callback cancels the operation, if it is still running.
        pending.progressError = { error };
        this.#abort(reply.id);
      }
      return;
    }
    const pending = this.#settle(reply.id);
    if (!pending) return;
    if (reply.ok) pending.resolve(reply.value);
    else if (reply.error.name === "AbortError") {
      pending.reject(pending.progressError ? pending.progressError.error : (pending.task?.signal?.reason ?? fromWire(reply.error)));
    } else pending.reject(fromWire(reply.error));
  }

  #fail(message: string): void {
    this.#failed ??= quiverError("closed", message);
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(this.#failed);
  }
}

const connections = new WeakMap<MessageEndpoint, Connection>();

function connect(endpoint: unknown): Connection {
  const e = endpoint as MessageEndpoint | null;
  if (typeof e !== "object" || e === null || typeof e.postMessage !== "function" || typeof e.addEventListener !== "function") {
    throw quiverError("invalid_argument", "expected a Worker (or a MessagePort) to talk to");
  }
  let connection = connections.get(e);
  if (!connection) {
    connection = new Connection(e);
    connections.set(e, connection);
  }
  return connection;
}

/**
 * A store living in a Web Worker, with the same API as {@link VectorStore}. The worker must
 * run {@link serveWorker} (or be the shipped `quiver-vectors/worker` script). Several stores
 * can share one worker; closing a store does not terminate the worker, which you own.
 *
 * @example
 * ```js
 * const worker = new Worker(new URL("./store-worker.js", import.meta.url), { type: "module" });
 * const store = await WorkerVectorStore.create(worker, { dimension: 384 });
 * await store.add(items, { onProgress: (p) => console.log(p.done, "/", p.total) });
 * const hits = await store.search({ vector: query, k: 10 });
 * ```
 */
export class WorkerVectorStore<M extends object = Metadata> implements QuiverStore<M> {
  /** The store's name (its key in storage). */
  readonly name: string;
  /** Components per vector. */
  readonly dimension: number;
  /** The metric: `"cosine"`, `"l2"` or `"dot"`. */
  readonly metric: Metric;
  /** The canonical index spec, e.g. `"Flat"`. */
  readonly index: string;
  readonly #connection: Connection;
  readonly #handle: number;
  #closing: Promise<void> | undefined;

  private constructor(connection: Connection, info: StoreInfo) {
    this.#connection = connection;
    this.#handle = info.handle;
    this.name = info.name;
    this.dimension = info.dimension;
    this.metric = info.metric;
    this.index = info.index;
  }

  /** Creates an empty store in `worker`; see {@link VectorStore.create}. */
  static async create<M extends object = Metadata>(worker: MessageEndpoint, options: WorkerCreateOptions): Promise<WorkerVectorStore<M>> {
    const o = requireOptions(options, "options");
    if (o.storage !== undefined) throw quiverError("invalid_argument", "storage lives in the worker: pass it to serveWorker({ storage })");
    if (o.onMetric !== undefined) throw quiverError("invalid_argument", "onMetric runs in the worker: pass it to serveWorker({ onMetric })");
    const connection = connect(worker);
    const info = (await connection.call("create", 0, [o])) as StoreInfo;
    return new WorkerVectorStore<M>(connection, info);
  }

  /**
   * Opens (or creates) a store in `worker`, with the worker's storage; see {@link
   * VectorStore.open}.
   */
  static async open<M extends object = Metadata>(worker: MessageEndpoint, options: WorkerOpenOptions): Promise<WorkerVectorStore<M>> {
    const { signal, onProgress, ...rest } = requireOptions(options, "options");
    if (rest.storage !== undefined) throw quiverError("invalid_argument", "storage lives in the worker: pass it to serveWorker({ storage })");
    if (rest.onMetric !== undefined) throw quiverError("invalid_argument", "onMetric runs in the worker: pass it to serveWorker({ onMetric })");
    const task = checkTask({ signal, onProgress });
    const connection = connect(worker);
    const info = (await connection.call("open", 0, [rest], [], task)) as StoreInfo;
    return new WorkerVectorStore<M>(connection, info);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Adds new items, all or nothing (see {@link VectorStore.add}); vectors are transferred to the
   * worker in one buffer, progress and cancellation cross the boundary.
   */
  async add(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    await this.#write("add", items, options);
  }

  /** Adds or replaces items, all or nothing (see {@link VectorStore.upsert}). */
  async upsert(items: readonly Item<M>[], options?: TaskOptions): Promise<void> {
    await this.#write("upsert", items, options);
  }

  /**
   * Deletes items by id (one id or an array), all or nothing: an unknown id rejects with
   * `not_found` and deletes nothing. Resolves to the number deleted.
   */
  async delete(ids: string | readonly string[]): Promise<number> {
    this.#checkOpen();
    return (await this.#call("delete", [checkIds(ids)])) as number;
  }

  /** The stored item `{ id, vector, metadata? }`, or `undefined` if the id is not stored. */
  async get(id: string): Promise<StoredItem<M> | undefined> {
    this.#checkOpen();
    return (await this.#call("get", [checkId(id, "get")])) as StoredItem<M> | undefined;
  }

  /** The stored item without its vector, or `undefined` (see {@link VectorStore.getMetadata}). */
  async getMetadata(id: string): Promise<StoredMetadata<M> | undefined> {
    this.#checkOpen();
    return (await this.#call("getMetadata", [checkId(id, "getMetadata")])) as StoredMetadata<M> | undefined;
  }

  /** The `k` best items for the query, best first (see {@link VectorStore.search}). */
  async search(request: SearchRequest): Promise<SearchHit<M>[]> {
    this.#checkOpen();
    const { query, k, efSearch, nprobe, rerank, exact, filterJson } = checkSearch(request, this.dimension);
    // Never detach the caller's array: send a copy, transferred.
    const vector = query === request.vector ? query.slice() : query;
    const params = { efSearch, nprobe, rerank, exact };
    // The filter crosses as its JSON round trip, so what the worker evaluates is exactly what an
    // in-thread store would (and nothing uncloneable rides along).
    const filter = filterJson === undefined ? undefined : (JSON.parse(filterJson) as SearchRequest["filter"]);
    return (await this.#call("search", [{ vector, k, params, filter }], [vector.buffer as ArrayBuffer])) as SearchHit<M>[];
  }

  /** Writes the store to the worker's storage (see {@link VectorStore.save}). */
  async save(options?: TaskOptions): Promise<void> {
    this.#checkOpen();
    await this.#call("save", [], [], checkTask(options));
  }

  /**
   * Saves the store in the worker as a new full snapshot, folding the op log in (see
   * {@link VectorStore.compact}).
   */
  async compact(options?: TaskOptions): Promise<void> {
    this.#checkOpen();
    await this.#call("compact", [], [], checkTask(options));
  }

  /**
   * Counts, sizes and configuration: `{ name, count, dimension, metric, index, keepVectors,
   * memoryBytes, simd, version }` and the rest of {@link StoreStats}.
   */
  async stats(): Promise<StoreStats> {
    this.#checkOpen();
    return (await this.#call("stats", [])) as StoreStats;
  }

  /**
   * Recall@k against exact search in the worker (see {@link VectorStore.measureRecall}); the
   * queries are checked and packed here and transferred.
   */
  async measureRecall(options: MeasureRecallOptions): Promise<RecallReport> {
    return (await this.#longCall("measureRecall", options)) as RecallReport;
  }

  /** Tunes `efSearch` / `nprobe` in the worker (see {@link VectorStore.tune}). */
  async tune(options: TuneOptions): Promise<TuneResult> {
    return (await this.#longCall("tune", options)) as TuneResult;
  }

  /** Sets the worker store's search defaults (see {@link VectorStore.setSearchDefaults}). */
  async setSearchDefaults(params: SearchParams): Promise<SearchParams> {
    this.#checkOpen();
    return (await this.#call("setSearchDefaults", [params])) as SearchParams;
  }

  async #longCall(op: "measureRecall" | "tune", options: MeasureRecallOptions | TuneOptions): Promise<unknown> {
    this.#checkOpen();
    const { signal, onProgress, queries, ...rest } = requireOptions(options, "options");
    const task = checkTask({ signal, onProgress });
    const packed = packQueries(queries, this.dimension);
    return this.#call(op, [{ ...rest, queries: packed }], packed ? [packed.buffer as ArrayBuffer] : [], task);
  }

  /**
   * Releases the store. Calls already made finish first; later calls reject with `closed`. Unsaved
   * changes are lost. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#call("close", []).then(() => undefined);
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing) throw quiverError("closed", `the store ${JSON.stringify(this.name)} is closed`);
  }

  #call(op: Op, args: unknown[], transfer?: ArrayBuffer[], task?: CheckedTask): Promise<unknown> {
    return this.#connection.call(op, this.#handle, args, transfer, task);
  }

  async #write(op: "add" | "upsert", items: readonly Item<M>[], options: TaskOptions | undefined): Promise<void> {
    this.#checkOpen();
    const batch = packItems(items, this.dimension);
    const task = checkTask(options);
    await this.#call(op, [batch], [batch.vectors.buffer as ArrayBuffer], task);
  }
}
