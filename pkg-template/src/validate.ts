/**
 * Checks of JavaScript inputs before they cross into WebAssembly, and packing of item batches
 * into one `Float32Array` plus one metadata array. Anything a caller can get wrong from
 * untyped JavaScript becomes a {@link QuiverError} here, with the item index in the message,
 * instead of a coercion surprise (wasm-bindgen turns `1.5` into `1` and `"x"` into `NaN`) or a
 * trap. Range limits the core enforces (id bytes, `k` ≤ 10,000, metadata size) are left to
 * it, so they live in one place.
 *
 * @packageDocumentation
 */
import { quiverError } from "./errors.js";
import type { TaskOptions } from "./types.js";

/** A batch in columns, as it crosses into the core (and to a worker). */
export interface PackedBatch {
  /** One id per item. */
  ids: string[];
  /** `ids.length × dimension` floats, row-major. */
  vectors: Float32Array;
  /**
   * One metadata object as JSON text (or `null`) per item; absent when no item has metadata.
   * Serialized up front, so unserializable metadata fails before anything is stored and a
   * worker receives exactly what an in-thread store would store.
   */
  metadata?: (string | null)[] | undefined;
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? Object.prototype.toString.call(value).slice(8, -1) : typeof value;

/** Whether `value` is a `Float32Array` (also from another realm). */
export function isFloat32Array(value: unknown): value is Float32Array {
  return value instanceof Float32Array || Object.prototype.toString.call(value) === "[object Float32Array]";
}

/** Whether `value` is a plain object (what JSON metadata and option bags must be). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.prototype.toString.call(value) === "[object Object]";
}

/** Checks an options bag: `undefined` or a plain object. */
export function checkOptions(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw quiverError("invalid_argument", `${what} must be an object, got ${describe(value)}`);
  return value;
}

/** Checks a required options bag: a plain object. */
export function requireOptions(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw quiverError("invalid_argument", `${what} must be an object, got ${describe(value)}`);
  return value;
}

/** Checks an integer option in `[min, max]`; `undefined` passes. */
export function checkInteger(value: unknown, name: string, min: number, max: number, code: "invalid_argument" | "invalid_k" | "invalid_dimension" = "invalid_argument"): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw quiverError(code, `${name} must be an integer from ${min} to ${max}, got ${typeof value === "number" ? value : describe(value)}`);
  }
  return value;
}

/** Checks an id: a non-empty string (its byte length is the core's to check). */
export function checkId(id: unknown, where: string): string {
  if (typeof id !== "string") throw quiverError("invalid_id", `${where}: id must be a string, got ${describe(id)}`);
  if (id.length === 0) throw quiverError("invalid_id", `${where}: id must not be empty`);
  return id;
}

/** Checks a list of ids (or one id). */
export function checkIds(ids: unknown): string[] {
  const list = typeof ids === "string" ? [ids] : ids;
  if (!Array.isArray(list)) throw quiverError("invalid_argument", `ids must be a string or an array of strings, got ${describe(ids)}`);
  return list.map((id, i) => checkId(id, `ids[${i}]`));
}

function firstNonFinite(values: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (!Number.isFinite(values[i])) return i;
  }
  return -1;
}

/**
 * Copies a vector into `into` at `offset` and checks it: a `Float32Array` or an array of
 * numbers, of exactly `dimension` finite components (checked after conversion to f32, so a
 * double that overflows f32 is caught too).
 */
export function writeVector(vector: unknown, dimension: number, into: Float32Array, offset: number, where: string): void {
  if (isFloat32Array(vector)) {
    if (vector.length !== dimension) throw dimensionMismatch(dimension, vector.length, where);
    into.set(vector, offset);
  } else if (Array.isArray(vector)) {
    if (vector.length !== dimension) throw dimensionMismatch(dimension, vector.length, where);
    for (let j = 0; j < dimension; j++) {
      const x: unknown = vector[j];
      if (typeof x !== "number") throw quiverError("invalid_vector", `${where}: component ${j} is ${describe(x)}, not a number`);
      into[offset + j] = x;
    }
  } else {
    throw quiverError("invalid_vector", `${where}: vector must be a Float32Array or an array of numbers, got ${describe(vector)}`);
  }
  const bad = firstNonFinite(into, offset, offset + dimension);
  if (bad >= 0) {
    const original = (vector as ArrayLike<number>)[bad - offset];
    throw quiverError("invalid_vector", `${where}: component ${bad - offset} is ${original}; vectors must be finite (and fit in a 32-bit float)`);
  }
}

function dimensionMismatch(expected: number, received: number, where: string) {
  return quiverError("dimension_mismatch", `${where}: expected ${expected} components, received ${received}`);
}

/** A query vector as a checked `Float32Array` (the input itself when it already is one). */
export function checkQuery(vector: unknown, dimension: number): Float32Array {
  if (isFloat32Array(vector) && vector.length === dimension && firstNonFinite(vector, 0, dimension) < 0) return vector;
  const out = new Float32Array(dimension);
  writeVector(vector, dimension, out, 0, "query");
  return out;
}

/**
 * Validates `items` and packs them into columns: ids, one `Float32Array` of all vectors and one
 * metadata array. Rejects ids repeated within the batch (`duplicate_id`), so a batch means the
 * same whether or not it is later sent in chunks.
 */
export function packItems(items: unknown, dimension: number): PackedBatch {
  if (!Array.isArray(items)) throw quiverError("invalid_argument", `items must be an array of { id, vector, metadata? }, got ${describe(items)}`);
  const n = items.length;
  const ids = new Array<string>(n);
  const vectors = new Float32Array(n * dimension);
  let metadata: (string | null)[] | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const item: unknown = items[i];
    const where = `items[${i}]`;
    if (!isPlainObject(item)) throw quiverError("invalid_argument", `${where} must be an object { id, vector, metadata? }, got ${describe(item)}`);
    const id = checkId(item.id, where);
    if (seen.has(id)) throw quiverError("duplicate_id", `${where}: id ${JSON.stringify(id)} appears more than once in this batch`);
    seen.add(id);
    ids[i] = id;
    if (!("vector" in item)) throw quiverError("invalid_vector", `${where}: vector is missing`);
    writeVector(item.vector, dimension, vectors, i * dimension, where);
    const meta = item.metadata;
    if (meta !== undefined && meta !== null) {
      metadata ??= new Array<string | null>(n).fill(null);
      metadata[i] = metadataText(meta, where);
    }
  }
  return { ids, vectors, metadata };
}

/**
 * Checks a batch that arrived already packed (from a worker client), so a hostile or buggy
 * sender cannot slip past the checks {@link packItems} makes.
 */
export function checkPacked(batch: unknown, dimension: number): PackedBatch {
  if (!isPlainObject(batch)) throw quiverError("invalid_argument", "batch must be an object");
  const { ids, vectors, metadata } = batch;
  if (!Array.isArray(ids) || !isFloat32Array(vectors)) throw quiverError("invalid_argument", "batch must hold ids and a Float32Array");
  const checkedIds = ids.map((id, i) => checkId(id, `items[${i}]`));
  if (new Set(checkedIds).size !== checkedIds.length) throw quiverError("duplicate_id", "an id appears more than once in this batch");
  if (vectors.length !== checkedIds.length * dimension) throw dimensionMismatch(dimension, checkedIds.length ? vectors.length / checkedIds.length : vectors.length, "items");
  const bad = firstNonFinite(vectors, 0, vectors.length);
  if (bad >= 0) throw quiverError("invalid_vector", `items[${Math.floor(bad / dimension)}]: component ${bad % dimension} is ${vectors[bad]}; vectors must be finite`);
  if (metadata !== undefined) {
    // The core parses each entry and rejects non-objects; a sender that crafts JSON to shift
    // entries between its own items only garbles its own batch.
    if (!Array.isArray(metadata) || metadata.length !== checkedIds.length || metadata.some((m) => m !== null && typeof m !== "string")) {
      throw quiverError("invalid_metadata", "batch metadata must hold one JSON string or null per id");
    }
  }
  return { ids: checkedIds, vectors, metadata: metadata as (string | null)[] | undefined };
}

/** Serializes one item's metadata: a plain object, as JSON. */
export function metadataText(metadata: unknown, where: string): string {
  if (!isPlainObject(metadata)) throw quiverError("invalid_metadata", `${where}: metadata must be a plain object, got ${describe(metadata)}`);
  try {
    return JSON.stringify(metadata);
  } catch (error) {
    // BigInt values and cycles cannot be JSON.
    throw quiverError("invalid_metadata", `${where}: metadata is not JSON-serializable: ${(error as Error).message}`);
  }
}

/** The metadata of items `[from, to)` as the core's JSON array, or `undefined` if none has any. */
export function metadataJson(metadata: readonly (string | null)[] | undefined, from: number, to: number): string | undefined {
  if (!metadata) return undefined;
  const slice = metadata.slice(from, to);
  if (slice.every((m) => m === null)) return undefined;
  return `[${slice.map((m) => m ?? "null").join(",")}]`;
}

/** {@link TaskOptions} after checking. */
export interface CheckedTask {
  signal: AbortSignal | undefined;
  onProgress: TaskOptions["onProgress"];
}

/** Checks the options of a long operation. */
export function checkTask(options: unknown): CheckedTask {
  const o = checkOptions(options, "options");
  const { signal, onProgress } = o;
  if (signal !== undefined && !(typeof signal === "object" && signal !== null && typeof (signal as AbortSignal).throwIfAborted === "function")) {
    throw quiverError("invalid_argument", "options.signal must be an AbortSignal");
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw quiverError("invalid_argument", "options.onProgress must be a function");
  }
  return { signal: signal as AbortSignal | undefined, onProgress: onProgress as TaskOptions["onProgress"] };
}

const U32_MAX = 0xffff_ffff;
/**
 * The most results a search returns: the core's `limits::MAX_K`, checked here first so both
 * layers refuse with one limit and one message (`tests/package/bad-input.test.mjs` compares them).
 */
export const MAX_K = 10_000;

/** Checks `k`: `invalid_k` with the core's own wording unless it is an integer in 1..=MAX_K. */
export function checkK(value: unknown): number {
  if (value === undefined) throw quiverError("invalid_k", "k is required");
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_K) {
    throw quiverError("invalid_k", `invalid k ${typeof value === "number" ? value : describe(value)}: must be an integer between 1 and ${MAX_K}`);
  }
  return value;
}

/** A search request after checking. */
export interface CheckedSearch {
  query: Float32Array;
  k: number;
  efSearch: number | undefined;
  nprobe: number | undefined;
  rerank: number | undefined;
  /** Brute force over the stored vectors instead of the index. */
  exact: boolean;
  /** The filter as JSON text for the core, or `undefined` for none. */
  filterJson: string | undefined;
  /** The forced filtered-search path, or `undefined` for automatic. */
  filterStrategy: string | undefined;
}

const FILTER_STRATEGIES = ["auto", "pre-filter", "in-index", "post-filter"];

/**
 * Checks a search request: `invalid_argument` unless it is an object, `invalid_k` unless `k` is
 * an integer ≥ 1 (the core caps it at 10,000), the query as {@link checkQuery}, integer params,
 * and `invalid_filter` unless a filter is a plain object (the core checks its operators).
 */
export function checkSearch(request: unknown, dimension: number): CheckedSearch {
  if (!isPlainObject(request)) throw quiverError("invalid_argument", `search takes { vector, k, filter?, params? }, got ${describe(request)}`);
  const k = checkK(request.k);
  if (!("vector" in request)) throw quiverError("invalid_vector", "vector is missing");
  const query = checkQuery(request.vector, dimension);
  let filterJson: string | undefined;
  if (request.filter !== undefined) {
    if (!isPlainObject(request.filter)) throw quiverError("invalid_filter", `filter must be an object, got ${describe(request.filter)}`);
    filterJson = JSON.stringify(request.filter);
  }
  const params = checkOptions(request.params, "params");
  if (params.exact !== undefined && typeof params.exact !== "boolean") {
    throw quiverError("invalid_argument", `params.exact must be a boolean, got ${describe(params.exact)}`);
  }
  const exact = params.exact === true;
  const filterStrategy = params.filterStrategy;
  if (filterStrategy !== undefined && !(typeof filterStrategy === "string" && FILTER_STRATEGIES.includes(filterStrategy))) {
    throw quiverError("invalid_argument", `params.filterStrategy must be one of ${FILTER_STRATEGIES.map((s) => JSON.stringify(s)).join(", ")}, got ${describe(filterStrategy)}`);
  }
  if (exact && filterJson !== undefined) throw quiverError("unsupported", "params.exact cannot be combined with a filter yet");
  return {
    query,
    k,
    efSearch: checkInteger(params.efSearch, "params.efSearch", 1, U32_MAX),
    nprobe: checkInteger(params.nprobe, "params.nprobe", 1, U32_MAX),
    rerank: checkInteger(params.rerank, "params.rerank", 0, U32_MAX),
    exact,
    filterJson,
    filterStrategy,
  };
}

/** Packs optional query vectors row-major; `undefined` when none are given. */
export function packQueries(queries: unknown, dimension: number): Float32Array | undefined {
  if (queries === undefined) return undefined;
  if (!Array.isArray(queries) || queries.length === 0) {
    throw quiverError("invalid_argument", "queries must be a non-empty array of vectors");
  }
  const packed = new Float32Array(queries.length * dimension);
  queries.forEach((q, i) => packed.set(checkQuery(q, dimension), i * dimension));
  return packed;
}
