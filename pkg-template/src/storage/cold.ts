/**
 * The package side of cold vectors (`coldVectors`, docs/memory.md "Cold vectors"): writes each
 * chunk's rows before the chunk is added, runs a search's rounds (read the rows the core lacked,
 * stage them, search again), and reports the cache. Loaded on demand by `store.ts`, so that a
 * page that never keeps vectors cold does not download it.
 *
 * @packageDocumentation
 */
import type { Collection } from "../../wasm/quiver.js";
import { QuiverError, quiverError, toQuiverError } from "../errors.js";
import type { Collection as CollectionApi } from "../lowlevel.js";
import type { ColdStats } from "../types.js";
import type { RowFile, StorageAdapter } from "./adapter.js";
import { checkInteger } from "../validate.js";
import { openRowFile } from "./rows.js";

/** Default byte budget of the cache of cold rows (`coldVectors: true`). */
const DEFAULT_COLD_CACHE_BYTES = 16 << 20;
/** Search rounds before a cold search gives up (one read suffices unless a filter widens). */
const MAX_COLD_ROUNDS = 4;

/** A collection of the full build, which alone has the cold-vector methods. */
type ColdCollection = Collection & Required<Pick<CollectionApi, "enableColdVectors" | "coldRowsFor" | "coldMissing" | "stageColdRows" | "abandonColdSearch" | "coldReport">>;
const coldOf = (c: Collection) => c as ColdCollection;

function core<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw toQuiverError(error);
  }
}

/** `options.coldVectors` (given and not `false`) as a cache budget; rejects what it cannot do. */
export function checkCold(value: unknown, storage: StorageAdapter | undefined, keepVectors: unknown): number {
  let cacheBytes = DEFAULT_COLD_CACHE_BYTES;
  if (typeof value === "object" && value !== null) {
    const given = (value as { cacheBytes?: unknown }).cacheBytes;
    if (given !== undefined) cacheBytes = checkInteger(given, "coldVectors.cacheBytes", 0, Number.MAX_SAFE_INTEGER) as number;
  } else if (value !== true) {
    throw quiverError("invalid_argument", "coldVectors must be a boolean or { cacheBytes }");
  }
  if (!storage) throw quiverError("invalid_argument", "coldVectors keeps the vectors in storage: pass `storage`");
  if (keepVectors === true) throw quiverError("invalid_argument", "coldVectors keeps the vectors out of memory: it cannot be combined with keepVectors: true");
  return cacheBytes;
}

/** A store's cold vectors: its row file, their size and the cache budget. */
export class ColdTier {
  readonly #rows: RowFile;
  readonly #rowBytes: number;
  readonly #cacheBytes: number;

  private constructor(rows: RowFile, rowBytes: number, cacheBytes: number) {
    this.#rows = rows;
    this.#rowBytes = rowBytes;
    this.#cacheBytes = cacheBytes;
  }

  /** Turns cold vectors on for `c` and opens their rows; frees nothing on failure (the caller does). */
  static async open(c: Collection, storage: StorageAdapter, name: string, cacheBytes: number): Promise<ColdTier> {
    const rowBytes = core(() => coldOf(c).enableColdVectors(cacheBytes));
    return new ColdTier(await openRowFile(storage, name), rowBytes, cacheBytes);
  }

  /** Turns cold vectors on for `next`, a newer version of the same store. */
  adopt(next: Collection): void {
    core(() => coldOf(next).enableColdVectors(this.#cacheBytes));
  }

  /** Writes the rows of a chunk about to be added, under the internal ids it will get. */
  async write(c: Collection, ids: string[], vectors: Float32Array): Promise<void> {
    const [first, bytes] = core(() => coldOf(c).coldRowsFor(ids, vectors));
    try {
      await this.#rows.write(first, bytes, this.#rowBytes);
    } catch (error) {
      throw toQuiverError(error);
    }
  }

  /**
   * Finishes a search: while the core reports candidate rows it lacked, reads them, stages them
   * and runs the search again (`again`). `first` is the first round's result.
   */
  async search<H>(c: Collection, first: H, again: () => H): Promise<H> {
    let hits = first;
    const cold = coldOf(c);
    for (let round = 1; ; round++) {
      const missing = cold.coldMissing();
      if (missing.length === 0) return hits;
      if (round === MAX_COLD_ROUNDS) {
        cold.abandonColdSearch();
        throw quiverError("storage_error", `a search of cold vectors still lacked ${missing.length} rows after ${round} reads of ${this.#rows.location}`);
      }
      let bytes: Uint8Array;
      try {
        bytes = await this.#rows.read(missing, this.#rowBytes);
      } catch (error) {
        cold.abandonColdSearch();
        throw toQuiverError(error);
      }
      try {
        cold.stageColdRows(missing, bytes);
      } catch (error) {
        const e = toQuiverError(error);
        throw e instanceof QuiverError ? quiverError(e.code, `${e.message}, in ${this.#rows.location}`) : e;
      }
      hits = core(again);
    }
  }

  /** `stats().cold`. */
  stats(c: Collection): ColdStats | null {
    const report = coldOf(c).coldReport();
    return report ? { location: this.#rows.location, ...report } : null;
  }

  /**
   * Why a save of the store `name` must not rebase onto another writer's version: a rebase
   * re-adds this store's unsaved items under that writer's next internal ids, where its own
   * rows already are.
   */
  rebaseRefusal(name: string): string {
    return `another instance saved the cold store ${JSON.stringify(name)} since this one opened it; a cold store has one writer at a time (its unsaved changes stay in memory; close it and open the saved version)`;
  }

  /** Makes every row written so far durable (before a save refers to them). */
  sync(): Promise<void> {
    return this.#rows.sync();
  }

  close(): Promise<void> {
    return this.#rows.close();
  }
}
