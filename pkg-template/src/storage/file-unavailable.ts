/**
 * The `FileStorage` of the browser and Workers entries: same type as the Node/Deno one (so
 * every entry exports the same names), but constructing it throws `unsupported`.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import type { StorageAdapter, StorageEntry } from "./adapter.js";

const unavailable = () => quiverError("unsupported", "FileStorage needs Node or Deno; use IndexedDBStorage in browsers and DurableObjectStorageAdapter in Workers");

/** Files in a directory: available in Node and Deno only (see the Node entry's documentation). */
export class FileStorage implements StorageAdapter {
  /** The directory, resolved to an absolute path. */
  readonly directory: string;

  /** @param directory - where the files go. */
  constructor(directory: string) {
    this.directory = directory;
    throw unavailable();
  }

  /** Identifies this directory for locks and notifications within one process. */
  get coordinationScope(): string {
    throw unavailable();
  }
  /** {@inheritDoc StorageAdapter.load} */
  load(_key: string): Promise<Uint8Array | undefined> {
    return Promise.reject(unavailable());
  }
  /** {@inheritDoc StorageAdapter.loadRange} */
  loadRange(_prefix: string): Promise<StorageEntry[]> {
    return Promise.reject(unavailable());
  }
  /** {@inheritDoc StorageAdapter.saveBatch} */
  saveBatch(_puts: readonly StorageEntry[], _deletes: readonly string[]): Promise<void> {
    return Promise.reject(unavailable());
  }
  /** {@inheritDoc StorageAdapter.remove} */
  remove(_key: string): Promise<void> {
    return Promise.reject(unavailable());
  }
}
