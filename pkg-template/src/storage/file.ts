/**
 * {@link FileStorage}: the {@link StorageAdapter} of Node and Deno, one file per record in a
 * directory.
 *
 * A file system cannot write several files atomically, so `saveBatch` relies on the way Quiver
 * saves (see `docs/format.md`): every record but the last is new (a fresh key nobody reads
 * yet), and the last one, the manifest, is the commit point. Each record is written to a
 * temporary file, flushed (`fsync`) and renamed into place, then the directory is flushed; the
 * manifest goes last the same way, and only then are the deleted keys unlinked. After a crash at
 * any point the directory holds either the old manifest or the new one, with all their records.
 * Leftover temporary files are ignored.
 *
 * One process writes a directory at a time; several processes writing the same directory are
 * not coordinated.
 *
 * @packageDocumentation
 */
import { readSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { QuiverError, quiverError } from "../errors.js";
import type { RowFile, StorageAdapter, StorageEntry } from "./adapter.js";
import { fileNameToKey, keyToFileName } from "./file-names.js";

const TEMP_MARK = ".tmp-";
/** Files read at once by {@link FileStorage.loadEach}. */
const READ_LANES = 8;

const fileName = (key: string) => keyToFileName(key);

function keyOf(name: string): string | undefined {
  return name.includes(TEMP_MARK) ? undefined : fileNameToKey(name);
}

function failure(error: unknown, what: string): QuiverError {
  if (error instanceof QuiverError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new QuiverError("quota_exceeded", `${what}: the disk is full (${message})`, { cause: error });
  }
  return new QuiverError("storage_error", `${what} failed: ${message}`, { cause: error });
}

const isMissing = (error: unknown) => (error as { code?: unknown } | null)?.code === "ENOENT";

/**
 * Stores records as files in a directory (created on first save). For Node and Deno
 * (`--allow-read --allow-write`).
 *
 * @example
 * ```js
 * const storage = new FileStorage("./vectors");
 * const store = await VectorStore.open({ name: "notes", storage, dimension: 384 });
 * ```
 */
export class FileStorage implements StorageAdapter {
  /** The directory, resolved to an absolute path. */
  readonly directory: string;

  /** @param directory - where the files go. */
  constructor(directory: string) {
    if (typeof directory !== "string" || directory.length === 0) {
      throw quiverError("invalid_argument", "directory must be a non-empty path");
    }
    this.directory = resolve(directory);
  }

  /** Identifies this directory for locks and notifications within one process. */
  get coordinationScope(): string {
    return `file:${this.directory}`;
  }

  #path(key: string): string {
    return join(this.directory, fileName(key));
  }

  /** {@inheritDoc StorageAdapter.load} */
  async load(key: string): Promise<Uint8Array | undefined> {
    try {
      const data = await readFile(this.#path(key));
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw failure(error, `reading ${JSON.stringify(key)}`);
    }
  }

  /**
   * Loads several records, handing each to `each` (with its index in `keys`; `undefined` for a
   * missing file) as its read completes, a few files at a time, so that opening a large store
   * holds only the records in flight on the JavaScript side, not all of them. If a read or
   * `each` throws, no further record is read and the promise rejects with that error.
   */
  async loadEach(keys: readonly string[], each: (index: number, bytes: Uint8Array | undefined) => void): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | undefined;
    const lane = async () => {
      while (!failure && next < keys.length) {
        const index = next++;
        try {
          const bytes = await this.load(keys[index] as string);
          if (!failure) each(index, bytes);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_LANES, keys.length) }, lane));
    if (failure) throw failure.error;
  }

  /** Every key that starts with `prefix`, sorted, without reading the files. */
  async listKeys(prefix: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (isMissing(error)) return [];
      throw failure(error, `listing ${this.directory}`);
    }
    return names
      .map(keyOf)
      .filter((k): k is string => k !== undefined && k.startsWith(prefix))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** {@inheritDoc StorageAdapter.loadRange} */
  async loadRange(prefix: string): Promise<StorageEntry[]> {
    const keys = await this.listKeys(prefix);
    const out: StorageEntry[] = [];
    for (const key of keys) {
      const bytes = await this.load(key);
      if (bytes) out.push({ key, bytes });
    }
    return out;
  }

  /** Writes `bytes` to a temporary file, flushes it and renames it to `key`'s file. */
  async #writeDurably(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.#path(key);
    const temp = `${target}${TEMP_MARK}${Math.random().toString(36).slice(2)}`;
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /** Flushes the directory entry changes (renames, unlinks); a no-op where unsupported. */
  async #syncDirectory(): Promise<void> {
    let handle;
    try {
      handle = await open(this.directory, "r");
      await handle.sync();
    } catch {
      // Some platforms (Windows) cannot open or flush a directory.
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /**
   * Writes `puts` (the last one is the commit record) and then removes `deletes`; see the
   * module documentation for what a crash part way leaves.
   */
  async saveBatch(puts: readonly StorageEntry[], deletes: readonly string[]): Promise<void> {
    for (const { key, bytes } of puts) {
      if (typeof key !== "string") throw quiverError("invalid_argument", "storage keys must be strings");
      if (!(bytes instanceof Uint8Array)) throw quiverError("invalid_argument", `bytes of ${key} must be a Uint8Array`);
    }
    try {
      await mkdir(this.directory, { recursive: true });
      const last = puts.at(-1);
      const rest = puts.slice(0, -1);
      for (let i = 0; i < rest.length; i += 16) {
        await Promise.all(rest.slice(i, i + 16).map(({ key, bytes }) => this.#writeDurably(key, bytes)));
      }
      if (rest.length > 0) await this.#syncDirectory();
      if (last) {
        await this.#writeDurably(last.key, last.bytes);
        await this.#syncDirectory();
      }
      for (const key of deletes) {
        await unlink(this.#path(key)).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      }
    } catch (error) {
      throw failure(error, `saving ${puts.length} records to ${this.directory}`);
    }
  }

  /**
   * Rows in one file (`key`'s file name), read and written in place at `row × rowBytes`. The
   * file is created on first use; {@link RowFile.sync} flushes it (`fdatasync`).
   */
  async openRows(key: string): Promise<RowFile> {
    const path = this.#path(key);
    try {
      await mkdir(this.directory, { recursive: true });
      let handle;
      try {
        handle = await open(path, "r+");
      } catch (error) {
        if (!isMissing(error)) throw error;
        handle = await open(path, "w+");
      }
      return new FileRows(path, handle);
    } catch (error) {
      throw failure(error, `opening ${path}`);
    }
  }

  /** {@inheritDoc StorageAdapter.remove} */
  async remove(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (error) {
      if (!isMissing(error)) throw failure(error, `removing ${JSON.stringify(key)}`);
    }
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

/** {@link FileStorage.openRows}: positional reads and writes on one open file. */
class FileRows implements RowFile {
  readonly location: string;
  readonly #handle: Handle;

  constructor(path: string, handle: Handle) {
    this.location = path;
    this.#handle = handle;
  }

  async read(rows: Uint32Array, rowBytes: number): Promise<Uint8Array> {
    const out = new Uint8Array(rows.length * rowBytes);
    try {
      // Synchronous positional reads: a rerank reads about a hundred rows of ~1.5 KB, mostly
      // from the page cache, which takes far less time than a hundred trips through libuv's
      // thread pool (measured in bench/README.md, "Cold vectors"). A row past the end stays zeros.
      const fd = this.#handle.fd;
      rows.forEach((row, i) => {
        let done = 0;
        while (done < rowBytes) {
          const read = readSync(fd, out, i * rowBytes + done, rowBytes - done, row * rowBytes + done);
          if (read === 0) break;
          done += read;
        }
      });
    } catch (error) {
      throw failure(error, `reading ${rows.length} rows of ${this.location}`);
    }
    return out;
  }

  async write(first: number, bytes: Uint8Array, rowBytes: number): Promise<void> {
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, first * rowBytes + done);
        done += bytesWritten;
      }
    } catch (error) {
      throw failure(error, `writing ${bytes.length / rowBytes} rows to ${this.location}`);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.#handle.datasync();
    } catch (error) {
      throw failure(error, `flushing ${this.location}`);
    }
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
