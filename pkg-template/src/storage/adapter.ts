/**
 * The storage seam. The Rust core owns the bytes and their format; TypeScript owns I/O and
 * transactions. A {@link StorageAdapter} only moves bytes under string keys: IndexedDB in
 * browsers and Web Workers, files in Node and Deno, Durable Object storage in Cloudflare
 * Workers, and {@link MemoryStorage} for tests and ephemeral use.
 *
 * Key layout: every key of the store named `N` starts with {@link storeKeyPrefix}`(N)`
 * (`"N/"`), so one adapter can hold several stores and `loadRange(storeKeyPrefix(N))` finds
 * all of one store's records. Store names never contain `/`.
 *
 * @packageDocumentation
 */

/** One stored record. */
export interface StorageEntry {
  /** The record's key. */
  key: string;
  /** The record's bytes. */
  bytes: Uint8Array;
}

/**
 * Moves bytes to and from a backing store. Implementations must not interpret the bytes.
 *
 * Ownership: `saveBatch` must copy (or finish with) the bytes it is given before its promise
 * settles — callers may reuse or free the buffers afterwards (they can be views of WebAssembly
 * memory). Returned bytes belong to the caller.
 */
export interface StorageAdapter {
  /** The bytes stored under `key`, or `undefined` if there are none. */
  load(key: string): Promise<Uint8Array | undefined>;
  /** Every record whose key starts with `prefix`, sorted by key (code-unit order). */
  loadRange(prefix: string): Promise<StorageEntry[]>;
  /**
   * Atomically removes `deletes` and then writes `puts`: after a crash or a failure, either all
   * of it is visible or none of it is. Resolves only once the batch is durable (for IndexedDB:
   * on the transaction's `complete` event).
   */
  saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void>;
  /** Removes the record under `key`; removing a missing key is not an error. */
  remove(key: string): Promise<void>;
  /**
   * Optional: fixed-size rows under `key` in one file, for vectors kept cold
   * (`coldVectors`). Adapters without it keep one record per row under `key + "/"`.
   */
  openRows?(key: string): Promise<RowFile>;
  /** Releases the adapter's resources (connections, handles). Stores never call it: the code
   * that created the adapter owns it. */
  close?(): Promise<void>;
}

/**
 * Fixed-size rows addressed by number (a store's cold vectors; the core owns the row format).
 * Rows are written before the store refers to them, so a crash leaves at worst rows that
 * nothing refers to.
 */
export interface RowFile {
  /** The file or key prefix, for error messages and stats. */
  readonly location: string;
  /** The rows `rows[i]`, each `rowBytes` long, concatenated in order; a row never written reads as zeros (the core then reports it `corrupt`). */
  read(rows: Uint32Array, rowBytes: number): Promise<Uint8Array>;
  /** Writes `bytes` (whole rows) as rows `first, first + 1, …`. */
  write(first: number, bytes: Uint8Array, rowBytes: number): Promise<void>;
  /** Resolves once every write so far is durable. */
  sync(): Promise<void>;
  /** Releases the file. */
  close(): Promise<void>;
}

/** The prefix of every key of the store named `name`: `` `${name}/` ``. */
export function storeKeyPrefix(name: string): string {
  return `${name}/`;
}

/**
 * A {@link StorageAdapter} in a `Map`: for tests, and for stores that should outlive a
 * `close()` but not the page. Copies bytes in and out, so stored records cannot be changed
 * through a buffer the caller still holds.
 */
export class MemoryStorage implements StorageAdapter {
  readonly #records = new Map<string, Uint8Array>();

  /** A copy of the bytes stored under `key`, or `undefined`. */
  async load(key: string): Promise<Uint8Array | undefined> {
    const bytes = this.#records.get(key);
    return bytes && bytes.slice();
  }

  /** Copies of every record whose key starts with `prefix`, sorted by key. */
  async loadRange(prefix: string): Promise<StorageEntry[]> {
    const out: StorageEntry[] = [];
    for (const [key, bytes] of this.#records) {
      if (key.startsWith(prefix)) out.push({ key, bytes: bytes.slice() });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Every key that starts with `prefix`, sorted, without loading the bytes. */
  async listKeys(prefix: string): Promise<string[]> {
    return [...this.#records.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Removes `deletes`, then stores copies of `puts`; checks every entry first, so a bad batch
   * changes nothing.
   */
  async saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void> {
    // Validate everything first, then apply: all or nothing.
    for (const { key, bytes } of puts) {
      if (typeof key !== "string") throw new TypeError("storage keys must be strings");
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes of ${key} must be a Uint8Array`);
    }
    const copies = puts.map(({ key, bytes }) => [key, bytes.slice()] as const);
    for (const key of deletes) this.#records.delete(key);
    for (const [key, bytes] of copies) this.#records.set(key, bytes);
  }

  /** Removes the record under `key` (a missing key is not an error). */
  async remove(key: string): Promise<void> {
    this.#records.delete(key);
  }

  /** Number of records held (for tests). */
  get size(): number {
    return this.#records.size;
  }
}
