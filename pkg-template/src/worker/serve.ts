/**
 * The worker side of the Web Worker front end: {@link serveWorker} answers the requests of
 * {@link WorkerVectorStore}s with real {@link VectorStore}s living in the worker.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import type { MetricEvent } from "../metrics.js";
import type { StorageAdapter } from "../storage/adapter.js";
import { VectorStore, writePackedBatch } from "../store.js";
import type { SearchParams, SearchRequest, TaskOptions } from "../types.js";
import { TAG, toWire, type MessageEndpoint, type Reply, type Request } from "./protocol.js";

/** Options of {@link serveWorker}. */
export interface ServeWorkerOptions {
  /** Where requests arrive; defaults to the worker's global scope (`self`). */
  endpoint?: MessageEndpoint | undefined;
  /**
   * The storage of the store named `name`, for `create` (optional there) and `open`
   * (required). Storage lives in the worker because adapters cannot be sent in messages.
   */
  storage?: ((name: string) => StorageAdapter | Promise<StorageAdapter>) | undefined;
  /**
   * Receives the metric events of every store served here (functions cannot cross to the
   * worker, so `onMetric` is given to the worker, not to `WorkerVectorStore.create`). The
   * `store` attribute tells the stores apart.
   */
  onMetric?: ((event: MetricEvent) => void) | undefined;
}

/**
 * Serves {@link WorkerVectorStore} requests in this worker. Call it once at the top of your
 * worker script:
 *
 * ```js
 * // store-worker.js, started with new Worker(url, { type: "module" })
 * import { serveWorker } from "quiver-vectors";
 * serveWorker();
 * ```
 *
 * The package also ships a ready-made worker script, `quiver-vectors/worker`, that does
 * exactly this. Returns a function that stops serving.
 */
export function serveWorker(options: ServeWorkerOptions = {}): () => void {
  const endpoint = options.endpoint ?? (globalThis as unknown as MessageEndpoint);
  const storage = options.storage;
  const stores = new Map<number, VectorStore<object>>();
  const controllers = new Map<number, AbortController>();
  let nextStore = 1;

  const post = (reply: Reply, transfer: ArrayBuffer[] = []) => endpoint.postMessage(reply, transfer);

  const storeOf = (handle: number): VectorStore<object> => {
    const store = stores.get(handle);
    if (!store) throw quiverError("closed", "this store is closed");
    return store;
  };

  // Starts the operation synchronously, so requests reach their store in receipt order.
  const start = (request: Extract<Request, { op: string; args: unknown[] }>): Promise<[unknown, ArrayBuffer[]?]> => {
    const { id, op, args } = request;
    let task: TaskOptions | undefined;
    if (request.cancellable || request.progress) {
      const controller = new AbortController();
      if (request.cancellable) controllers.set(id, controller);
      task = {
        signal: controller.signal,
        onProgress: request.progress ? (progress) => post({ tag: TAG, id, progress }) : undefined,
      };
    }
    switch (op) {
      case "create":
      case "open":
        return (async () => {
          const opts = { ...(args[0] as Record<string, unknown>) };
          const name = typeof opts.name === "string" ? opts.name : "default";
          if (options.onMetric) opts.onMetric = options.onMetric;
          if (storage) opts.storage = await storage(name);
          else if (op === "open") throw quiverError("invalid_argument", "open needs storage: pass serveWorker({ storage }) in the worker");
          const store = op === "create" ? await VectorStore.create(opts as never) : await VectorStore.open({ ...(opts as object), ...task } as never);
          const handle = nextStore++;
          stores.set(handle, store);
          const { name: storeName, dimension, metric, index } = store;
          return [{ handle, name: storeName, dimension, metric, index }];
        })();
      case "add":
      case "upsert":
        return writePackedBatch(storeOf(request.store), op, args[0], task).then(() => [undefined]);
      case "delete":
        return storeOf(request.store).delete(args[0] as string[]).then((n) => [n]);
      case "get":
        return storeOf(request.store).get(args[0] as string).then((item) => [item, item ? [item.vector.buffer as ArrayBuffer] : []]);
      case "getMetadata":
        return storeOf(request.store).getMetadata(args[0] as string).then((item) => [item]);
      case "search":
        return storeOf(request.store).search(args[0] as SearchRequest).then((hits) => [hits]);
      case "save":
        return storeOf(request.store).save(task).then(() => [undefined]);
      case "compact":
        return storeOf(request.store).compact(task).then(() => [undefined]);
      case "stats":
        return storeOf(request.store).stats().then((stats) => [stats]);
      case "setSearchDefaults":
        return storeOf(request.store).setSearchDefaults(args[0] as SearchParams).then((params) => [params]);
      case "measureRecall":
      case "tune": {
        const o: Record<string, unknown> = { ...(args[0] as Record<string, unknown>), ...task };
        const packed = o.queries as Float32Array | undefined;
        if (packed !== undefined) {
          const store = storeOf(request.store);
          const dim = store.dimension;
          o.queries = Array.from({ length: packed.length / dim }, (_, i) => packed.subarray(i * dim, (i + 1) * dim));
        }
        const store = storeOf(request.store);
        return (op === "tune" ? store.tune(o as never) : store.measureRecall(o as never)).then((report) => [report]);
      }
      case "close": {
        const store = stores.get(request.store);
        stores.delete(request.store);
        return (store ? store.close() : Promise.resolve()).then(() => [undefined]);
      }
      default:
        throw quiverError("invalid_argument", `unknown operation ${String(op)}`);
    }
  };

  const onMessage = (event: { data: unknown }) => {
    const request = event.data as Request | undefined;
    if (typeof request !== "object" || request === null || request.tag !== TAG) return;
    if (request.op === "abort") {
      controllers.get(request.id)?.abort();
      return;
    }
    let running: Promise<[unknown, ArrayBuffer[]?]>;
    try {
      running = start(request);
    } catch (error) {
      running = Promise.reject(error);
    }
    const fail = (error: unknown) => post({ tag: TAG, id: request.id, ok: false, error: toWire(error) });
    running
      .then(([value, transfer]) => {
        try {
          post({ tag: TAG, id: request.id, ok: true, value }, transfer);
        } catch (error) {
          // An answer that cannot be cloned must still settle the caller's promise.
          fail(error);
        }
      }, fail)
      .finally(() => controllers.delete(request.id));
  };

  endpoint.addEventListener("message", onMessage);
  endpoint.start?.();
  return () => endpoint.removeEventListener?.("message", onMessage);
}
