/**
 * The {@link Embedder} contract: what turns texts into vectors for a store. Quiver's own local
 * model (`quiver-vectors/embed`), a Web Worker running it (`quiver-vectors/embed-worker`) and any
 * remote API wrapped with {@link embedderFromFunction} all have this one shape, so the text-level
 * API ({@link TextStore}) and the LangChain store take any of them.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import { isFloat32Array, writeVector } from "../validate.js";

/** Progress of an embedding call: texts embedded so far, of `total`. */
export interface EmbedProgress {
  /** Always `"embed"`. */
  phase: "embed";
  /** Texts embedded so far. */
  done: number;
  /** Texts in the call. */
  total: number;
}

/** Options of {@link Embedder.embed}. */
export interface EmbedOptions {
  /** Cancels the call between batches; it then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Called after each batch. If it throws, the call stops and rejects with that error. */
  onProgress?: ((progress: EmbedProgress) => void) | undefined;
}

/**
 * Turns texts into vectors. `embed` resolves to one vector per text, in order, each of
 * `dimension` finite numbers; it rejects (and returns nothing) if any text fails.
 */
export interface Embedder {
  /** Components per vector; a store must have this dimension. */
  readonly dimension: number;
  /**
   * The longest input the model takes, in its tokens (special tokens included), if it has a
   * limit. Texts over it are rejected with `text_too_long`, never truncated; the text-level API
   * chunks documents to fit.
   */
  readonly maxTokens?: number | undefined;
  /** A name for messages and stats, e.g. `"all-MiniLM-L6-v2 (int8)"`. */
  readonly name?: string | undefined;
  /** Embeds `texts` (any number: batching is the embedder's job). */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /**
   * How many tokens the model sees for `text`, special tokens included. Chunking uses it to
   * fill passages exactly; without it, chunking estimates from word counts.
   */
  countTokens?(text: string): number | Promise<number>;
}

/** A function that embeds one batch: what an OpenAI-style API or Workers AI gives you. */
export type EmbedFunction = (texts: string[], options: { signal?: AbortSignal | undefined }) => Promise<ArrayLike<number>[]> | ArrayLike<number>[];

/** Options of {@link embedderFromFunction}. */
export interface FunctionEmbedderOptions {
  /** Components per vector the function returns; every vector is checked against it. */
  dimension: number;
  /** Texts per call of the function (default 64). */
  batchSize?: number | undefined;
  /** The model's window in tokens, if it has one (see {@link Embedder.maxTokens}). */
  maxTokens?: number | undefined;
  /** Exact token counting, if you have the model's tokenizer (see {@link Embedder.countTokens}). */
  countTokens?: ((text: string) => number | Promise<number>) | undefined;
  /** A name for messages. */
  name?: string | undefined;
}

/** Throws `invalid_argument` unless every text is a string with something other than whitespace. */
export function checkTexts(texts: unknown): string[] {
  if (!Array.isArray(texts)) throw quiverError("invalid_argument", "texts must be an array of strings");
  texts.forEach((text, i) => {
    if (typeof text !== "string") throw quiverError("invalid_argument", `text ${i} is not a string (got ${typeof text})`);
    if (text.trim().length === 0) throw quiverError("invalid_argument", `text ${i} is empty or only whitespace: there is nothing to embed`);
  });
  return texts as string[];
}

/** Throws `invalid_argument` for a batch size that is not an integer from 1 to 4,096. */
export function checkBatchSize(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 4096) {
    throw quiverError("invalid_argument", `batchSize must be an integer from 1 to 4096, got ${String(value)}`);
  }
  return value as number;
}

/** Rejects with the signal's reason if it is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/**
 * Copies one returned vector into a `Float32Array`, checking its length and values: a model or
 * API that disagrees with the store's dimension fails here, before anything is written.
 */
export function checkEmbedding(vector: ArrayLike<number> | undefined, dimension: number, index: number, source: string): Float32Array {
  if (vector === undefined || vector === null || typeof vector.length !== "number") {
    throw quiverError("invalid_vector", `${source} returned no vector for text ${index}`);
  }
  // The store's own check (length, then finite after conversion to f32); other array-likes,
  // such as a Float64Array from an SDK, go through a plain array.
  const out = new Float32Array(dimension);
  writeVector(isFloat32Array(vector) || Array.isArray(vector) ? vector : Array.from(vector), dimension, out, 0, `${source}, text ${index}`);
  return out;
}

/**
 * Makes an {@link Embedder} from a function that embeds one batch (bring your own model or API).
 * The wrapper batches, reports progress, cancels between batches, and checks every returned
 * vector's length and values, so a remote model with another dimension fails before a write.
 *
 * @example
 * ```js
 * const embedder = embedderFromFunction(async (texts, { signal }) => {
 *   const response = await fetch("https://api.openai.com/v1/embeddings", { method: "POST", signal,
 *     headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
 *     body: JSON.stringify({ model: "text-embedding-3-small", input: texts }) });
 *   return (await response.json()).data.map((d) => d.embedding);
 * }, { dimension: 1536, batchSize: 256, maxTokens: 8191 });
 * ```
 */
export function embedderFromFunction(embedBatch: EmbedFunction, options: FunctionEmbedderOptions): Embedder {
  if (typeof embedBatch !== "function") throw quiverError("invalid_argument", "embedderFromFunction needs a function (texts, { signal }) => vectors");
  const { dimension, maxTokens, countTokens, name } = options ?? ({} as FunctionEmbedderOptions);
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16384) {
    throw quiverError("invalid_dimension", `dimension must be an integer from 1 to 16384, got ${String(dimension)}`);
  }
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 3)) {
    throw quiverError("invalid_argument", `maxTokens must be an integer of at least 3, got ${String(maxTokens)}`);
  }
  const batchSize = checkBatchSize(options.batchSize, 64);
  const label = name ?? "the embedding function";
  const embedder: Embedder = {
    dimension,
    maxTokens,
    name,
    async embed(texts, embedOptions = {}) {
      const all = checkTexts(texts);
      const { signal, onProgress } = embedOptions;
      const out: Float32Array[] = [];
      for (let start = 0; start < all.length; start += batchSize) {
        throwIfAborted(signal);
        const batch = all.slice(start, start + batchSize);
        const vectors = await embedBatch(batch, { signal });
        if (!Array.isArray(vectors) || vectors.length !== batch.length) {
          throw quiverError("invalid_vector", `${label} returned ${Array.isArray(vectors) ? vectors.length : "no array of"} vectors for ${batch.length} texts`);
        }
        vectors.forEach((v, i) => out.push(checkEmbedding(v, dimension, start + i, label)));
        onProgress?.({ phase: "embed", done: out.length, total: all.length });
      }
      return out;
    },
  };
  if (countTokens !== undefined) embedder.countTokens = countTokens;
  return embedder;
}
