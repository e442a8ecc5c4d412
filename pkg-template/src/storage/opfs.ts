/**
 * {@link OPFSStorage}: a {@link StorageAdapter} on the Origin Private File System
 * (`navigator.storage.getDirectory()`), one file per record in one directory, for browsers and
 * Web Workers.
 *
 * Why it exists: IndexedDB in Chromium keeps an origin's databases in one LevelDB, and our
 * SIGKILL crash test saw Chromium find that LevelDB corrupt after a kill now and then and delete
 * the origin's whole IndexedDB. OPFS keeps each record in its own file — but Chromium keeps the
 * OPFS directory tree in a LevelDB as well, and the same test saw it drop recent directory
 * entries after a kill (files vanish; the store then fails to open as `corrupt`). So it is not
 * shown to be safer than IndexedDB in Chromium; see `docs/storage.md`.
 *
 * A file system cannot write several files atomically, so `saveBatch` follows the protocol of
 * `FileStorage` (see `docs/format.md`): every record but the last is new (a fresh key nobody
 * reads yet), and the last one, the manifest, is the commit point. Each record is written
 * through `createWritable()`: the File System spec keeps the written bytes out of the file until
 * `close()`, and Chromium implements that with a swap file that `close()` moves over the target
 * in one step (the OPFS form of "temporary file + rename"; only Chromium's is tested, by a
 * SIGKILL crash test). The manifest is written only once every other record is closed, and the
 * deleted keys are removed only after the manifest. After a crash at any point the directory
 * holds either the old manifest or the new one, with all their records, plus perhaps records of
 * the interrupted save that no manifest names (they cost space only).
 *
 * Every file name we write is an escaped key without a dot, so names with a dot (Chromium's
 * `.crswap` swap files left by a crash) are ignored. An empty file reads as no record:
 * `getFileHandle(name, { create: true })` creates the file empty before the swap file is moved
 * over it, so a crash in between leaves an empty file — for a store's first save, an empty
 * manifest, which must read as "no store", not as a corrupt one. (Quiver never stores an empty
 * record: every value carries a checksummed envelope.)
 *
 * @packageDocumentation
 */
import { QuiverError, quiverError } from "../errors.js";
import type { RowFile, StorageAdapter, StorageEntry } from "./adapter.js";
import { fileNameToKey, keyToFileName } from "./file-names.js";

/** Records written at once by a large save (the manifest always waits for all of them). */
const WRITE_LANES = 16;
/** Files read at once by {@link OPFSStorage.loadEach}. */
const READ_LANES = 8;
/** Reads of one file retried when a concurrent save replaced it while it was read. */
const READ_ATTEMPTS = 3;

/** Options of {@link OPFSStorage}. */
export interface OPFSStorageOptions {
  /**
   * The directory under the origin's OPFS root that holds the records. Defaults to `"quiver"`.
   * One directory holds any number of Quiver stores.
   */
  directory?: string | undefined;
}

/** The parts of the File System API this module uses (the DOM typings lag behind). */
interface Writable {
  write(data: BufferSource): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}
type FileHandle = FileSystemFileHandle & {
  createWritable?: (options?: { keepExistingData?: boolean }) => Promise<Writable>;
};
type DirectoryHandle = FileSystemDirectoryHandle & {
  values(): AsyncIterable<FileSystemHandle>;
};

const errorName = (error: unknown) => {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === "string" ? name : "";
};
const isMissing = (error: unknown) => errorName(error) === "NotFoundError";

/** Maps a failed OPFS call to a {@link QuiverError}. */
export function storageFailure(error: unknown, what: string): QuiverError {
  if (error instanceof QuiverError) return error;
  const name = errorName(error);
  const message = (error as { message?: unknown } | null | undefined)?.message;
  const detail = typeof message === "string" && message ? `: ${message}` : "";
  if (name === "QuotaExceededError") {
    return new QuiverError("quota_exceeded", `${what} does not fit in the storage quota${detail}`, { cause: error });
  }
  return new QuiverError("storage_error", `${what} failed${name ? ` (${name})` : ""}${detail}`, { cause: error });
}

/** An exact copy unless `bytes` already spans its whole buffer. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

const fileName = (key: string) => keyToFileName(key, true);

/** The key stored in the file `name`; `undefined` for files that are not records (swap files). */
function keyOf(name: string): string | undefined {
  return name.includes(".") ? undefined : fileNameToKey(name);
}

/**
 * Stores records as files in a directory of the Origin Private File System. Works in windows
 * and Web Workers (it uses the asynchronous API, `createWritable()`, which both have). The
 * directory is created on first use.
 *
 * Several tabs and workers can use one directory: Quiver's saves take turns through Web Locks
 * named after {@link OPFSStorage.coordinationScope}, and other instances of a store are told of
 * new saves through a `BroadcastChannel` of the same name.
 *
 * A record of zero bytes reads as absent (a crash can leave a created but unwritten file).
 *
 * Errors: every method rejects with a {@link QuiverError}: `unsupported` where the runtime has no
 * OPFS (or no `createWritable()`, as in older Safari), `quota_exceeded` when a save does not fit
 * in the origin's quota (`QuotaExceededError`; the records saved before are intact), and
 * `storage_error` for any other failure.
 *
 * @example
 * ```js
 * const storage = new OPFSStorage();
 * const store = await VectorStore.open({ name: "notes", storage, dimension: 384 });
 * ```
 */
export class OPFSStorage implements StorageAdapter {
  /** The directory's name under the origin's OPFS root. */
  readonly directory: string;
  #dir: Promise<DirectoryHandle> | undefined;

  /** @param options - the directory name. */
  constructor(options: OPFSStorageOptions = {}) {
    const directory = options.directory ?? "quiver";
    if (typeof directory !== "string" || directory.length === 0 || directory === "." || directory === ".." || /[/\\]/.test(directory)) {
      throw quiverError("invalid_argument", "directory must be a non-empty name without '/' or '\\' (and not '.' or '..')");
    }
    this.directory = directory;
  }

  /** Identifies this directory for cross-tab locks and notifications. */
  get coordinationScope(): string {
    return `opfs:${this.directory}`;
  }

  #open(): Promise<DirectoryHandle> {
    this.#dir ??= (async () => {
      const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<FileSystemDirectoryHandle> } } }).navigator?.storage;
      if (typeof storage?.getDirectory !== "function") {
        throw quiverError("unsupported", "the Origin Private File System (navigator.storage.getDirectory) is not available in this environment; use IndexedDBStorage");
      }
      try {
        const root = await storage.getDirectory();
        return (await root.getDirectoryHandle(this.directory, { create: true })) as DirectoryHandle;
      } catch (error) {
        throw storageFailure(error, `opening OPFS directory ${JSON.stringify(this.directory)}`);
      }
    })();
    this.#dir.catch(() => {
      this.#dir = undefined;
    });
    return this.#dir;
  }

  /** Reads the file `name`, or `undefined` if there is none. */
  async #read(dir: DirectoryHandle, name: string): Promise<Uint8Array | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const file = await (await dir.getFileHandle(name)).getFile();
        // Created but never written (see the module documentation).
        if (file.size === 0) return undefined;
        return new Uint8Array(await file.arrayBuffer());
      } catch (error) {
        if (isMissing(error)) return undefined;
        // A File is a snapshot: reading it fails with NotReadableError if a save replaced the
        // file (only the manifest is ever replaced) in between. Read the new one.
        if (errorName(error) === "NotReadableError" && attempt < READ_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** {@inheritDoc StorageAdapter.load} */
  async load(key: string): Promise<Uint8Array | undefined> {
    const dir = await this.#open();
    try {
      return await this.#read(dir, fileName(key));
    } catch (error) {
      throw storageFailure(error, `loading ${JSON.stringify(key)}`);
    }
  }

  /**
   * Loads several records, handing each to `each` (with its index in `keys`; `undefined` for a
   * missing or empty file) as its read completes, a few files at a time, so that opening a
   * large store holds only the records in flight, not all of them. If a read or `each` throws,
   * no further record is read and the promise rejects with that error.
   */
  async loadEach(keys: readonly string[], each: (index: number, bytes: Uint8Array | undefined) => void): Promise<void> {
    const dir = await this.#open();
    let next = 0;
    let failure: { error: unknown } | undefined;
    const lane = async () => {
      while (!failure && next < keys.length) {
        const index = next++;
        const key = keys[index] as string;
        try {
          const bytes = await this.#read(dir, fileName(key));
          if (!failure) each(index, bytes);
        } catch (error) {
          failure ??= { error: error instanceof QuiverError ? error : storageFailure(error, `loading ${JSON.stringify(key)}`) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_LANES, keys.length) }, lane));
    if (failure) throw failure.error;
  }

  /** {@inheritDoc StorageAdapter.loadRange} */
  async loadRange(prefix: string): Promise<StorageEntry[]> {
    const dir = await this.#open();
    try {
      const found: [string, string][] = [];
      for await (const handle of dir.values()) {
        if (handle.kind !== "file") continue;
        const key = keyOf(handle.name);
        if (key !== undefined && key.startsWith(prefix)) found.push([key, handle.name]);
      }
      found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const out: StorageEntry[] = [];
      for (const [key, name] of found) {
        // A concurrent save may have deleted it since the listing.
        const bytes = await this.#read(dir, name);
        if (bytes) out.push({ key, bytes });
      }
      return out;
    } catch (error) {
      throw storageFailure(error, `loading records under ${JSON.stringify(prefix)}`);
    }
  }

  /** Writes `bytes` as the file `name`, replacing it in one step on `close()`. */
  async #write(dir: DirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
    const handle = (await dir.getFileHandle(name, { create: true })) as FileHandle;
    if (typeof handle.createWritable !== "function") {
      throw quiverError("unsupported", "this browser's OPFS has no createWritable(); use IndexedDBStorage");
    }
    const writable = await handle.createWritable({ keepExistingData: false });
    try {
      await writable.write(bytes as Uint8Array<ArrayBuffer>);
    } catch (error) {
      // Drop the swap file; the file keeps its previous contents.
      await writable.abort().catch(() => undefined);
      throw error;
    }
    await writable.close();
  }

  /**
   * Writes `puts` (the last one is the commit record: it is written only after all others are
   * in place) and then removes `deletes`; see the module documentation for what a crash part
   * way leaves.
   */
  async saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void> {
    // Copy first: the bytes may be views of WebAssembly memory, which can move while we await.
    const records = puts.map(({ key, bytes }) => {
      if (typeof key !== "string") throw quiverError("invalid_argument", "storage keys must be strings");
      if (!(bytes instanceof Uint8Array)) throw quiverError("invalid_argument", `bytes of ${key} must be a Uint8Array`);
      return { name: fileName(key), bytes: ownBytes(bytes) };
    });
    for (const key of deletes) {
      if (typeof key !== "string") throw quiverError("invalid_argument", "storage keys must be strings");
    }
    const dir = await this.#open();
    try {
      const last = records.at(-1);
      const rest = records.slice(0, -1);
      for (let i = 0; i < rest.length; i += WRITE_LANES) {
        await Promise.all(rest.slice(i, i + WRITE_LANES).map(({ name, bytes }) => this.#write(dir, name, bytes)));
      }
      if (last) await this.#write(dir, last.name, last.bytes);
      for (const key of deletes) {
        await dir.removeEntry(fileName(key)).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      }
    } catch (error) {
      throw storageFailure(error, `saving ${puts.length} records to OPFS directory ${JSON.stringify(this.directory)}`);
    }
  }

  /** {@inheritDoc StorageAdapter.remove} */
  async remove(key: string): Promise<void> {
    const dir = await this.#open();
    try {
      await dir.removeEntry(fileName(key));
    } catch (error) {
      if (!isMissing(error)) throw storageFailure(error, `removing ${JSON.stringify(key)}`);
    }
  }

  /**
   * Rows in one file (`key`'s file name plus `.rows`, which is never read as a record), through
   * a synchronous access handle: positional reads and writes without copying the file, which
   * only dedicated Workers have. Elsewhere rejects with `unsupported` (use `IndexedDBStorage`,
   * which keeps one record per row, or open the store in a Worker).
   */
  async openRows(key: string): Promise<RowFile> {
    const { openSyncRows } = await import("./opfs-rows.js");
    return openSyncRows(await this.#open(), `${fileName(key)}.rows`, `OPFS ${this.directory}`);
  }

  /** Forgets the directory handle (the next call looks it up again). Holds no other resource. */
  async close(): Promise<void> {
    this.#dir = undefined;
  }
}

