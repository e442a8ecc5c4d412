/**
 * {@link IndexedDBStorage}: the {@link StorageAdapter} of browsers and Web Workers.
 *
 * One database (default `"quiver"`) with one object store of `key → Uint8Array` records, so one
 * database holds any number of Quiver stores. What it promises:
 *
 * - `saveBatch` is one `readwrite` transaction: its deletes and puts (the manifest last) commit
 *   together or not at all, and it resolves only on the transaction's `complete` event. All
 *   requests are issued synchronously; nothing awaits a non-IndexedDB promise inside the
 *   transaction (which would let it auto-commit half done).
 * - Bytes are stored as exact copies: a view into a larger buffer (such as WebAssembly memory)
 *   is copied first, since structured cloning a view stores its whole buffer.
 * - A full quota (`QuotaExceededError`, which arrives as a transaction abort) rejects with a
 *   {@link QuiverError} of code `quota_exceeded`; any other failure with `storage_error`. The
 *   transaction is aborted, so what was stored before is intact.
 * - `versionchange` (another tab deleting or upgrading the database) closes this connection;
 *   the next call reopens it. A `blocked` open rejects with `storage_error`.
 *
 * @packageDocumentation
 */
import { QuiverError, quiverError } from "../errors.js";
import type { StorageAdapter, StorageEntry } from "./adapter.js";

const OBJECT_STORE = "records";
/** Concurrent read transactions of a large {@link IndexedDBStorage.loadMany}. */
const READ_LANES = 8;

/** Options of {@link IndexedDBStorage}. */
export interface IndexedDBStorageOptions {
  /** The database name. Defaults to `"quiver"`. */
  database?: string | undefined;
  /**
   * Transaction durability. `"strict"` (the default) resolves a save only once the browser has
   * flushed it to disk; `"relaxed"` resolves once it is written to the OS, which is faster and
   * can lose the last saves (never corrupt the store) on a power loss or OS crash.
   */
  durability?: "strict" | "relaxed" | undefined;
}

/** Maps a failed transaction or request to a {@link QuiverError}. */
function storageFailure(error: unknown, what: string): QuiverError {
  const e = error as { name?: unknown; message?: unknown } | null | undefined;
  const name = typeof e?.name === "string" ? e.name : "";
  const detail = typeof e?.message === "string" && e.message ? `: ${e.message}` : "";
  if (name === "QuotaExceededError") {
    return new QuiverError("quota_exceeded", `${what} does not fit in the storage quota${detail}`, { cause: error });
  }
  return new QuiverError("storage_error", `${what} failed${name ? ` (${name})` : ""}${detail}`, { cause: error });
}

/** An exact copy unless `bytes` already spans its whole buffer. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

/**
 * Stores records in IndexedDB. Works in windows and Web Workers.
 *
 * @example
 * ```js
 * const storage = new IndexedDBStorage();
 * const store = await VectorStore.open({ name: "notes", storage, dimension: 384 });
 * ```
 */
export class IndexedDBStorage implements StorageAdapter {
  /** The database name. */
  readonly database: string;
  /** The transaction durability of saves. */
  readonly durability: "strict" | "relaxed";
  #db: Promise<IDBDatabase> | undefined;

  /** @param options - database name and durability. */
  constructor(options: IndexedDBStorageOptions = {}) {
    const database = options.database ?? "quiver";
    if (typeof database !== "string" || database.length === 0) {
      throw quiverError("invalid_argument", "database must be a non-empty string");
    }
    const durability = options.durability ?? "strict";
    if (durability !== "strict" && durability !== "relaxed") {
      throw quiverError("invalid_argument", `durability must be "strict" or "relaxed"`);
    }
    this.database = database;
    this.durability = durability;
  }

  /** Identifies this database for cross-tab locks and notifications. */
  get coordinationScope(): string {
    return `idb:${this.database}`;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory) {
        reject(quiverError("unsupported", "IndexedDB is not available in this environment"));
        return;
      }
      let settled = false;
      const request = factory.open(this.database, 1);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(OBJECT_STORE)) request.result.createObjectStore(OBJECT_STORE);
      };
      request.onsuccess = () => {
        const db = request.result;
        if (settled) {
          // The open was reported blocked and rejected; do not keep the late connection.
          db.close();
          return;
        }
        settled = true;
        // Another connection wants to upgrade or delete the database: step aside and reopen on
        // the next call rather than block it.
        db.onversionchange = () => {
          db.close();
          this.#db = undefined;
        };
        db.onclose = () => {
          this.#db = undefined;
        };
        resolve(db);
      };
      request.onerror = () => {
        settled = true;
        reject(storageFailure(request.error, `opening IndexedDB database ${JSON.stringify(this.database)}`));
      };
      request.onblocked = () => {
        if (settled) return;
        settled = true;
        reject(quiverError("storage_error", `opening IndexedDB database ${JSON.stringify(this.database)} is blocked by a connection in another tab that does not close`));
      };
    });
    this.#db.catch(() => {
      this.#db = undefined;
    });
    return this.#db;
  }

  /** Runs `issue` in one transaction; resolves with its result on `complete`. */
  async #transaction<T>(mode: IDBTransactionMode, what: string, issue: (store: IDBObjectStore) => () => T): Promise<T> {
    const db = await this.#open();
    return new Promise<T>((resolve, reject) => {
      let tx: IDBTransaction;
      try {
        tx = mode === "readwrite" ? db.transaction(OBJECT_STORE, mode, { durability: this.durability }) : db.transaction(OBJECT_STORE, mode);
      } catch (error) {
        // The connection was closed under us (versionchange): reopen once.
        this.#db = undefined;
        reject(storageFailure(error, what));
        return;
      }
      let result: () => T;
      try {
        result = issue(tx.objectStore(OBJECT_STORE));
      } catch (error) {
        // A synchronous failure (e.g. DataCloneError): nothing of this batch may commit.
        try {
          tx.abort();
        } catch {
          // Already finished.
        }
        reject(storageFailure(error, what));
        return;
      }
      tx.oncomplete = () => {
        try {
          resolve(result());
        } catch (error) {
          reject(storageFailure(error, what));
        }
      };
      tx.onabort = () => reject(storageFailure(tx.error, what));
    });
  }

  /** {@inheritDoc StorageAdapter.load} */
  load(key: string): Promise<Uint8Array | undefined> {
    return this.#transaction("readonly", `loading ${JSON.stringify(key)}`, (store) => {
      const request = store.get(key);
      return () => asBytes(request.result);
    });
  }

  /**
   * Loads several records. Missing keys give `undefined`. Large loads are spread over
   * {@link READ_LANES} concurrent read transactions, which Chromium serves about twice as fast
   * as one; that is safe for Quiver's records, which never change under a key (a concurrent
   * save only adds keys, and deletes none that a committed manifest still names).
   */
  async loadMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const lanes = Math.min(READ_LANES, Math.ceil(keys.length / 16));
    if (lanes <= 1) {
      return this.#transaction("readonly", `loading ${keys.length} records`, (store) => {
        const requests = keys.map((key) => store.get(key));
        return () => requests.map((r) => asBytes(r.result));
      });
    }
    const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(keys.length);
    await Promise.all(
      Array.from({ length: lanes }, (_, lane) =>
        this.#transaction("readonly", `loading ${keys.length} records`, (store) => {
          const requests: [number, IDBRequest][] = [];
          for (let i = lane; i < keys.length; i += lanes) requests.push([i, store.get(keys[i] as string)]);
          return () => {
            for (const [i, r] of requests) out[i] = asBytes(r.result);
          };
        }),
      ),
    );
    return out;
  }

  /**
   * Loads several records like {@link IndexedDBStorage.loadMany}, but hands each to `each` (with
   * its index in `keys`; `undefined` for a missing key) as soon as its read completes, in
   * completion order, so the caller can work on it while the rest is read. If `each` throws,
   * the reads are aborted and the promise rejects with what it threw.
   */
  async loadEach(keys: readonly string[], each: (index: number, bytes: Uint8Array | undefined) => void): Promise<void> {
    const lanes = Math.max(1, Math.min(READ_LANES, Math.ceil(keys.length / 16)));
    let failure: { error: unknown } | undefined;
    const transactions: IDBTransaction[] = [];
    const stop = (error: unknown) => {
      failure ??= { error };
      for (const tx of transactions) {
        try {
          tx.abort();
        } catch {
          // Already finished.
        }
      }
    };
    try {
      await Promise.all(
        Array.from({ length: lanes }, (_, lane) =>
          this.#transaction("readonly", `loading ${keys.length} records`, (store) => {
            transactions.push(store.transaction);
            if (failure) {
              store.transaction.abort();
              return () => undefined;
            }
            for (let i = lane; i < keys.length; i += lanes) {
              const request = store.get(keys[i] as string);
              request.onsuccess = () => {
                if (failure) return;
                try {
                  each(i, asBytes(request.result));
                } catch (error) {
                  stop(error);
                }
              };
            }
            return () => undefined;
          }),
        ),
      );
    } catch (error) {
      // A failed lane stops the others too: nothing may reach `each` once this rejects.
      stop(error);
    }
    if (failure) throw failure.error;
  }

  /** {@inheritDoc StorageAdapter.loadRange} */
  loadRange(prefix: string): Promise<StorageEntry[]> {
    return this.#transaction("readonly", `loading records under ${JSON.stringify(prefix)}`, (store) => {
      // Every string starting with `prefix` sorts below prefix + U+FFFF.
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`, false, true);
      const keys = store.getAllKeys(range);
      const values = store.getAll(range);
      return () =>
        (keys.result as string[])
          .map((key, i) => ({ key, bytes: asBytes(values.result[i]) }))
          .filter((e): e is StorageEntry => e.bytes !== undefined && e.key.startsWith(prefix));
    });
  }

  /** {@inheritDoc StorageAdapter.saveBatch} */
  saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void> {
    // Everything that can fail or take time happens before the transaction opens.
    const records = puts.map(({ key, bytes }) => {
      if (typeof key !== "string") throw quiverError("invalid_argument", "storage keys must be strings");
      if (!(bytes instanceof Uint8Array)) throw quiverError("invalid_argument", `bytes of ${key} must be a Uint8Array`);
      return [key, ownBytes(bytes)] as const;
    });
    return this.#transaction("readwrite", `saving ${puts.length} records`, (store) => {
      for (const key of deletes) store.delete(key);
      for (const [key, bytes] of records) store.put(bytes, key);
      return () => undefined;
    });
  }

  /** {@inheritDoc StorageAdapter.remove} */
  remove(key: string): Promise<void> {
    return this.#transaction("readwrite", `removing ${JSON.stringify(key)}`, (store) => {
      store.delete(key);
      return () => undefined;
    });
  }

  /** Closes the connection (the next call reopens it). */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db) (await db.catch(() => undefined))?.close();
  }
}
