/**
 * Cold-vector rows in one OPFS file through a synchronous access handle
 * ({@link OPFSStorage.openRows}); loaded on demand, with the rest of the cold-vector code.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import type { RowFile } from "./adapter.js";
import { storageFailure } from "./opfs.js";

/** {@link OPFSStorage.openRows}: the file `name` in `dir` (named `where` in messages). */
export async function openSyncRows(dir: FileSystemDirectoryHandle, name: string, where: string): Promise<RowFile> {
  const location = `${where}/${name}`;
  let handle: FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncAccessHandle> };
  try {
    handle = await dir.getFileHandle(name, { create: true });
  } catch (error) {
    throw storageFailure(error, `opening ${location}`);
  }
  if (typeof handle.createSyncAccessHandle !== "function") {
    throw quiverError("unsupported", "coldVectors with OPFSStorage needs a dedicated Worker (synchronous access handles); in a window, use IndexedDBStorage");
  }
  try {
    return new SyncRows(location, await handle.createSyncAccessHandle());
  } catch (error) {
    throw storageFailure(error, `opening ${location} (another tab or worker may have it open)`);
  }
}

/** The parts of `FileSystemSyncAccessHandle` this module uses. */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  flush(): void;
  close(): void;
}

/** {@link OPFSStorage.openRows}: one file through a synchronous access handle. */
class SyncRows implements RowFile {
  readonly location: string;
  readonly #handle: SyncAccessHandle;

  constructor(location: string, handle: SyncAccessHandle) {
    this.location = location;
    this.#handle = handle;
  }

  async read(rows: Uint32Array, rowBytes: number): Promise<Uint8Array> {
    const out = new Uint8Array(rows.length * rowBytes);
    try {
      rows.forEach((row, i) => this.#handle.read(out.subarray(i * rowBytes, (i + 1) * rowBytes), { at: row * rowBytes }));
    } catch (error) {
      throw storageFailure(error, `reading ${rows.length} rows of ${this.location}`);
    }
    return out;
  }

  async write(first: number, bytes: Uint8Array, rowBytes: number): Promise<void> {
    try {
      let done = 0;
      while (done < bytes.length) done += this.#handle.write(bytes.subarray(done), { at: first * rowBytes + done });
    } catch (error) {
      throw storageFailure(error, `writing ${bytes.length / rowBytes} rows to ${this.location}`);
    }
  }

  async sync(): Promise<void> {
    try {
      this.#handle.flush();
    } catch (error) {
      throw storageFailure(error, `flushing ${this.location}`);
    }
  }

  async close(): Promise<void> {
    this.#handle.close();
  }
}
