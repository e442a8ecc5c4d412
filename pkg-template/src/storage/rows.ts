/**
 * Where a store's cold vectors live (`coldVectors`): the adapter's own row file when it has one
 * (`FileStorage`, `OPFSStorage` in a Worker), else one record per row through the plain
 * {@link StorageAdapter} methods (`IndexedDBStorage`, Durable Objects, `MemoryStorage`).
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import { storeKeyPrefix, type RowFile, type StorageAdapter } from "./adapter.js";

/** The key of a store's cold vectors (not a chunk key: the save protocol never sweeps it). */
export function coldRowsKey(name: string): string {
  return `${storeKeyPrefix(name)}cold-vectors`;
}

/** Opens the cold rows of the store `name` in `storage`. */
export async function openRowFile(storage: StorageAdapter, name: string): Promise<RowFile> {
  const key = coldRowsKey(name);
  if (typeof storage.openRows === "function") return await storage.openRows(key);
  return new RecordRows(storage, key);
}

type WithLoadMany = StorageAdapter & { loadMany?: (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]> };

/** Rows as records `key/row`, for adapters without a row file. */
class RecordRows implements RowFile {
  readonly location: string;
  readonly #storage: WithLoadMany;
  readonly #prefix: string;

  constructor(storage: StorageAdapter, key: string) {
    this.#storage = storage;
    this.#prefix = `${key}/`;
    this.location = `records ${JSON.stringify(this.#prefix)}…`;
  }

  async read(rows: Uint32Array, rowBytes: number): Promise<Uint8Array> {
    const keys = Array.from(rows, (row) => `${this.#prefix}${row}`);
    const records = this.#storage.loadMany ? await this.#storage.loadMany(keys) : await Promise.all(keys.map((k) => this.#storage.load(k)));
    const out = new Uint8Array(rows.length * rowBytes);
    records.forEach((bytes, i) => {
      // A missing or short record stays zeros: the core reports the row corrupt, naming it.
      if (bytes && bytes.length === rowBytes) out.set(bytes, i * rowBytes);
    });
    return out;
  }

  async write(first: number, bytes: Uint8Array, rowBytes: number): Promise<void> {
    if (bytes.length % rowBytes !== 0) throw quiverError("invalid_argument", "cold rows must be whole rows");
    const puts = [];
    for (let at = 0, row = first; at < bytes.length; at += rowBytes, row++) {
      puts.push({ key: `${this.#prefix}${row}`, bytes: bytes.subarray(at, at + rowBytes) });
    }
    await this.#storage.saveBatch(puts, []);
  }

  /** `saveBatch` resolves once durable: nothing to flush. */
  async sync(): Promise<void> {}

  async close(): Promise<void> {}
}
