/**
 * `quiver-vectors/embed-worker`: run an {@link Embedder} in a Web Worker so embedding never
 * blocks the page. In the worker, {@link serveEmbedder} serves an embedder (typically
 * `createLocalEmbedder` from `quiver-vectors/embed`); on the page, {@link WorkerEmbedder}
 * connects to it and is itself an `Embedder`, so it plugs into {@link TextStore} and the
 * LangChain store unchanged. Texts go over as strings; vectors come back as transferred
 * buffers (no copy). Cancellation and progress cross too.
 *
 * @example
 * ```js
 * // embed-worker.js (bundle it: transformers.js has bare imports)
 * import { createLocalEmbedder } from "quiver-vectors/embed";
 * import { serveEmbedder } from "quiver-vectors/embed-worker";
 * serveEmbedder(createLocalEmbedder({ modelPath: "/models/all-MiniLM-L6-v2", wasmPaths: "/ort/", quantized: true }));
 *
 * // the page
 * const embedder = await WorkerEmbedder.connect(new Worker("embed-worker.js", { type: "module" }));
 * ```
 *
 * @packageDocumentation
 */
import { QuiverError, quiverError } from "./errors.js";
import { throwIfAborted, type EmbedOptions, type EmbedProgress, type Embedder } from "./text/embedder.js";
import { fromWire, toWire, type MessageEndpoint, type WireError } from "./worker/protocol.js";

export type { MessageEndpoint } from "./worker/protocol.js";

const TAG = "quiver-embed/1";

type Request =
  | { tag: typeof TAG; id: number; op: "info" }
  | { tag: typeof TAG; id: number; op: "embed"; texts: string[]; progress: boolean }
  | { tag: typeof TAG; id: number; op: "countTokens"; text: string }
  | { tag: typeof TAG; id: number; op: "abort"; target: number };

type Reply =
  | { tag: typeof TAG; id: number; ok: true; value: unknown }
  | { tag: typeof TAG; id: number; ok: false; error: WireError }
  | { tag: typeof TAG; id: number; progress: EmbedProgress };

interface Info {
  dimension: number;
  maxTokens?: number | undefined;
  name?: string | undefined;
  countsTokens: boolean;
}

/**
 * Serves `embedder` (or the promise of one, e.g. a model still loading) to the page over
 * `endpoint` (default: the worker's global scope). A load failure is reported to every call,
 * with its typed code (`model_missing`, `model_corrupt`, …).
 */
export function serveEmbedder(embedder: Embedder | Promise<Embedder>, endpoint: MessageEndpoint = globalThis as unknown as MessageEndpoint): void {
  const ready = Promise.resolve(embedder);
  // Keep a rejected load from being reported as unhandled before the first call arrives.
  ready.catch(() => undefined);
  const running = new Map<number, AbortController>();
  const reply = (message: Reply, transfer: ArrayBuffer[] = []) => endpoint.postMessage(message, transfer);
  endpoint.addEventListener("message", async (event: MessageEvent) => {
    const request = event.data as Request;
    if (request?.tag !== TAG) return;
    if (request.op === "abort") {
      running.get(request.target)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(request.id, controller);
    try {
      const model = await ready;
      let value: unknown;
      const transfer: ArrayBuffer[] = [];
      if (request.op === "info") {
        value = { dimension: model.dimension, maxTokens: model.maxTokens, name: model.name, countsTokens: typeof model.countTokens === "function" } satisfies Info;
      } else if (request.op === "countTokens") {
        if (!model.countTokens) throw quiverError("unsupported", "this embedder does not count tokens");
        value = await model.countTokens(request.text);
      } else {
        const vectors = await model.embed(request.texts, {
          signal: controller.signal,
          onProgress: request.progress ? (progress) => reply({ tag: TAG, id: request.id, progress }) : undefined,
        });
        // One buffer for the whole batch, transferred rather than copied.
        const dim = model.dimension;
        const packed = new Float32Array(vectors.length * dim);
        vectors.forEach((v, i) => packed.set(v, i * dim));
        value = packed;
        transfer.push(packed.buffer);
      }
      reply({ tag: TAG, id: request.id, ok: true, value }, transfer);
    } catch (error) {
      reply({ tag: TAG, id: request.id, ok: false, error: toWire(error) });
    } finally {
      running.delete(request.id);
    }
  });
  endpoint.start?.();
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onProgress?: ((progress: EmbedProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** The page's side of {@link serveEmbedder}: an {@link Embedder} whose work runs in the worker. */
export class WorkerEmbedder implements Embedder {
  readonly dimension: number;
  readonly maxTokens: number | undefined;
  readonly name: string | undefined;
  readonly #endpoint: MessageEndpoint;
  readonly #pending: Map<number, Pending>;
  #nextId: { value: number };

  private constructor(endpoint: MessageEndpoint, info: Info, pending: Map<number, Pending>, nextId: { value: number }) {
    this.#endpoint = endpoint;
    this.#pending = pending;
    this.#nextId = nextId;
    this.dimension = info.dimension;
    this.maxTokens = info.maxTokens;
    this.name = info.name;
    if (!info.countsTokens) (this as { countTokens?: unknown }).countTokens = undefined;
  }

  /**
   * Connects to a worker running {@link serveEmbedder}; resolves once its model has loaded
   * (rejecting with the load's typed error, e.g. `model_missing`, if it failed).
   */
  static async connect(endpoint: MessageEndpoint): Promise<WorkerEmbedder> {
    const pending = new Map<number, Pending>();
    const nextId = { value: 1 };
    endpoint.addEventListener("message", (event: MessageEvent) => {
      const reply = event.data as Reply;
      if (reply?.tag !== TAG) return;
      const call = pending.get(reply.id);
      if (!call) return;
      if ("progress" in reply) {
        try {
          call.onProgress?.(reply.progress);
        } catch (error) {
          pending.delete(reply.id);
          endpoint.postMessage({ tag: TAG, id: nextId.value++, op: "abort", target: reply.id } satisfies Request, []);
          call.reject(error);
        }
        return;
      }
      pending.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else if (reply.error.name === "AbortError" && call.signal?.aborted) call.reject(call.signal.reason);
      else call.reject(fromWire(reply.error));
    });
    endpoint.addEventListener("error", (event: ErrorEvent) => {
      const error = new QuiverError("model_missing", `the embedding worker failed to start: ${event.message ?? "script error"}`);
      for (const call of pending.values()) call.reject(error);
      pending.clear();
    });
    endpoint.start?.();
    const info = (await send(endpoint, pending, nextId, { op: "info" })) as Info;
    return new WorkerEmbedder(endpoint, info, pending, nextId);
  }

  /** Embeds in the worker; see {@link Embedder.embed}. */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    throwIfAborted(options.signal);
    const packed = (await send(this.#endpoint, this.#pending, this.#nextId, { op: "embed", texts: [...texts], progress: options.onProgress !== undefined }, options)) as Float32Array;
    const dim = this.dimension;
    return Array.from({ length: packed.length / dim }, (_, i) => packed.subarray(i * dim, (i + 1) * dim));
  }

  /** Counts tokens in the worker; see {@link Embedder.countTokens}. */
  countTokens(text: string): Promise<number> {
    return send(this.#endpoint, this.#pending, this.#nextId, { op: "countTokens", text }) as Promise<number>;
  }
}

type Body = { op: "info" } | { op: "embed"; texts: string[]; progress: boolean } | { op: "countTokens"; text: string };

function send(endpoint: MessageEndpoint, pending: Map<number, Pending>, nextId: { value: number }, body: Body, options: EmbedOptions = {}): Promise<unknown> {
  const id = nextId.value++;
  return new Promise((resolve, reject) => {
    const { signal, onProgress } = options;
    pending.set(id, { resolve, reject, onProgress, signal });
    signal?.addEventListener("abort", () => endpoint.postMessage({ tag: TAG, id: nextId.value++, op: "abort", target: id } satisfies Request, []), { once: true });
    endpoint.postMessage({ tag: TAG, id, ...body } as Request, []);
  });
}
