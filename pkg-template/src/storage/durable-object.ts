/**
 * {@link DurableObjectStorageAdapter}: the {@link StorageAdapter} of Cloudflare Workers, over a
 * Durable Object's transactional storage (`ctx.storage`).
 *
 * - Values above `maxValueBytes` (128 KiB by default, under both the KV-backed limit of 128 KiB
 *   and the SQLite-backed limit of ~2 MiB) are split: the key holds a small descriptor and the
 *   parts live under keys outside every store's prefix (`"\u0001part/…"`), named with a fresh
 *   nonce so a rewrite never mixes old and new parts. Old parts go in the same batch.
 * - `saveBatch` issues every `put` and `delete` (at most 128 keys per call) without awaiting in
 *   between, which Durable Objects commit atomically as one implicit transaction, and resolves
 *   when that write is confirmed.
 *
 * @packageDocumentation
 */
import { QuiverError, quiverError } from "../errors.js";
import type { StorageAdapter, StorageEntry } from "./adapter.js";

/** The subset of `DurableObjectStorage` this adapter uses. */
export interface DurableObjectStorageLike {
  get(keys: string[]): Promise<Map<string, unknown>>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list(options?: { prefix?: string }): Promise<Map<string, unknown>>;
}

/** Options of {@link DurableObjectStorageAdapter}. */
export interface DurableObjectStorageOptions {
  /** Largest value stored in one key; larger ones are split. Defaults to 128 KiB. */
  maxValueBytes?: number | undefined;
}

/** Stored in place of a split value. */
interface Descriptor {
  quiverParts: number;
  length: number;
  nonce: string;
}

/** Keys per storage call (the Durable Object limit). */
const KEYS_PER_CALL = 128;
const PART_PREFIX = "\u0001part/";

function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return typeof d === "object" && d !== null && typeof d.quiverParts === "number" && typeof d.length === "number" && typeof d.nonce === "string";
}

function partKeys(key: string, d: Descriptor): string[] {
  return Array.from({ length: d.quiverParts }, (_, i) => `${PART_PREFIX}${key}/${d.nonce}/${i}`);
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

function groups<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += KEYS_PER_CALL) out.push(items.slice(i, i + KEYS_PER_CALL));
  return out;
}

function failure(error: unknown, what: string): QuiverError {
  if (error instanceof QuiverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new QuiverError("storage_error", `${what} failed: ${message}`, { cause: error });
}

/**
 * Stores records in a Durable Object's storage.
 *
 * @example
 * ```js
 * export class Vectors {
 *   constructor(ctx) { this.storage = new DurableObjectStorageAdapter(ctx.storage); }
 *   async fetch(request) {
 *     const store = await VectorStore.open({ name: "docs", storage: this.storage, dimension: 384 });
 *     // …
 *   }
 * }
 * ```
 */
export class DurableObjectStorageAdapter implements StorageAdapter {
  readonly #storage: DurableObjectStorageLike;
  readonly #maxValueBytes: number;
  #nonce = 0;

  /**
   * @param storage - the Durable Object's `ctx.storage` (`state.storage`).
   * @param options - the largest value stored under one key.
   */
  constructor(storage: DurableObjectStorageLike, options: DurableObjectStorageOptions = {}) {
    if (typeof storage?.put !== "function" || typeof storage.get !== "function" || typeof storage.list !== "function") {
      throw quiverError("invalid_argument", "storage must be a Durable Object's ctx.storage");
    }
    const max = options.maxValueBytes ?? 128 * 1024;
    if (!Number.isInteger(max) || max < 1024) throw quiverError("invalid_argument", "maxValueBytes must be an integer of at least 1024");
    this.#storage = storage;
    this.#maxValueBytes = max;
  }

  async #getAll(keys: readonly string[]): Promise<Map<string, unknown>> {
    const maps = await Promise.all(groups(keys).map((g) => this.#storage.get(g)));
    const out = new Map<string, unknown>();
    for (const m of maps) for (const [k, v] of m) out.set(k, v);
    return out;
  }

  /** The bytes of a stored value, joining its parts if it was split. */
  async #assemble(key: string, value: unknown): Promise<Uint8Array | undefined> {
    if (!isDescriptor(value)) return asBytes(value);
    const keys = partKeys(key, value);
    const parts = await this.#getAll(keys);
    const out = new Uint8Array(value.length);
    let at = 0;
    for (const k of keys) {
      const part = asBytes(parts.get(k));
      if (!part || at + part.length > out.length) throw quiverError("storage_error", `part ${k} of ${JSON.stringify(key)} is missing or too long`);
      out.set(part, at);
      at += part.length;
    }
    if (at !== out.length) throw quiverError("storage_error", `parts of ${JSON.stringify(key)} are incomplete`);
    return out;
  }

  /** {@inheritDoc StorageAdapter.load} */
  async load(key: string): Promise<Uint8Array | undefined> {
    try {
      const value = (await this.#storage.get([key])).get(key);
      return await this.#assemble(key, value);
    } catch (error) {
      throw failure(error, `loading ${JSON.stringify(key)}`);
    }
  }

  /** Loads several records. Missing keys give `undefined`. */
  async loadMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    try {
      const values = await this.#getAll(keys);
      return await Promise.all(keys.map((k) => this.#assemble(k, values.get(k))));
    } catch (error) {
      throw failure(error, `loading ${keys.length} records`);
    }
  }

  /** {@inheritDoc StorageAdapter.loadRange} */
  async loadRange(prefix: string): Promise<StorageEntry[]> {
    try {
      const listed = await this.#storage.list({ prefix });
      const out: StorageEntry[] = [];
      for (const [key, value] of [...listed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!key.startsWith(prefix) || key.startsWith(PART_PREFIX)) continue;
        const bytes = await this.#assemble(key, value);
        if (bytes) out.push({ key, bytes });
      }
      return out;
    } catch (error) {
      throw failure(error, `loading records under ${JSON.stringify(prefix)}`);
    }
  }

  /** {@inheritDoc StorageAdapter.saveBatch} */
  async saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void> {
    for (const { key, bytes } of puts) {
      if (typeof key !== "string") throw quiverError("invalid_argument", "storage keys must be strings");
      if (!(bytes instanceof Uint8Array)) throw quiverError("invalid_argument", `bytes of ${key} must be a Uint8Array`);
    }
    try {
      // Parts of values being replaced or deleted go too: find them first (reads may await).
      const touched = [...new Set([...puts.map((p) => p.key), ...deletes])];
      const previous = await this.#getAll(touched);
      const removeKeys: string[] = [];
      for (const [key, value] of previous) if (isDescriptor(value)) removeKeys.push(...partKeys(key, value));
      const putKeys = new Set(puts.map((p) => p.key));
      removeKeys.push(...deletes.filter((k) => !putKeys.has(k)));
      const entries: [string, unknown][] = [];
      for (const { key, bytes } of puts) {
        if (bytes.length <= this.#maxValueBytes) {
          entries.push([key, bytes.slice()]);
          continue;
        }
        const d: Descriptor = {
          quiverParts: Math.ceil(bytes.length / this.#maxValueBytes),
          length: bytes.length,
          nonce: `${Date.now().toString(36)}.${(this.#nonce++).toString(36)}`,
        };
        partKeys(key, d).forEach((k, i) => entries.push([k, bytes.slice(i * this.#maxValueBytes, (i + 1) * this.#maxValueBytes)]));
        entries.push([key, d]);
      }
      // No await between these calls: the Durable Object commits them as one atomic write.
      const writes: Promise<unknown>[] = [];
      for (const g of groups(removeKeys)) writes.push(this.#storage.delete(g));
      for (const g of groups(entries)) writes.push(this.#storage.put(Object.fromEntries(g)));
      await Promise.all(writes);
    } catch (error) {
      throw failure(error, `saving ${puts.length} records`);
    }
  }

  /** {@inheritDoc StorageAdapter.remove} */
  async remove(key: string): Promise<void> {
    await this.saveBatch([], [key]);
  }
}
