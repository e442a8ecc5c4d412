/**
 * The low-level, synchronous binding, re-typed by hand so that the published declarations never
 * reference wasm-bindgen's generated `.d.ts` (which needs the DOM library, breaking Node-only
 * TypeScript projects). The assignments below are type-checked against the generated
 * declarations, so the two cannot drift apart silently.
 *
 * Prefer {@link VectorStore}: this layer does no input checks beyond the core's, throws raw
 * errors (`Error`s named `QuiverError` with a `code`; see {@link isQuiverError}), and in
 * browsers needs `await init()` first.
 *
 * `Collection` here is the lean build's: Flat and `HNSW{m}`. For IVF, SQ8, PQ and BIN, take the
 * `Collection` of `await loadFullBuild()` (a collection of one build cannot be passed to the
 * other's methods; both read and write the same stored format).
 *
 * @packageDocumentation
 */
import * as raw from "../wasm/quiver.js";
import { loadFullBuild as loadFullEngine } from "./engine.js";

/** A search result of the low-level binding (`metadata` is `null` when there is none). */
export interface RawHit {
  /** The item's id. */
  id: string;
  /** The metric's score. */
  score: number;
  /** The item's metadata, or `null`. */
  metadata: object | null;
}

/**
 * A query's knobs as the core takes them: `[efSearch, nprobe, rerank]`, `NaN` for a knob left
 * unset (the store's default, else the family's). Each set knob is a whole number from 0 to
 * 2³² − 1; `rerank: 0` turns reranking off.
 */
export type Knobs = Float64Array;

/** The low-level collection: see the Rust docs of `src/wasm/mod.rs` and `src/api.rs`. */
export interface Collection {
  /** Adds items: `ids[i]` owns `vectors[i*dim .. (i+1)*dim]`; `metadataJson` is a JSON array. */
  add(ids: string[], vectors: Float32Array, metadataJson?: string | null): void;
  /** Adds or replaces items; same layout as `add`. */
  upsert(ids: string[], vectors: Float32Array, metadataJson?: string | null): void;
  /** Deletes items by id (all or nothing); returns how many. */
  delete(ids: string[]): number;
  /** Indexes a metadata field (a dotted path); `false` if it was already indexed. */
  createFieldIndex(field: string): boolean;
  /** Stops indexing a metadata field; `false` if it was not indexed. */
  dropFieldIndex(field: string): boolean;
  /** The indexed metadata fields, sorted by path. */
  indexedFields(): string[];
  /**
   * The stored item `{ id, vector, metadata }`; throws `not_found`, and `unsupported` once an
   * index created with `keepVectors: false` has trained (dropped its vectors).
   */
  get(id: string): { id: string; vector: Float32Array; metadata: object | null };
  /** The stored item without its vector, `{ id, metadata }`; throws `not_found`. */
  getMetadata(id: string): { id: string; metadata: object | null };
  /** Whether an id is stored. */
  has(id: string): boolean;
  /**
   * The `k` best items for `query`, best first. `knobs` is `[efSearch, nprobe, rerank]` with
   * `NaN` for a knob left unset (see {@link Knobs}); `filterJson` keeps only matching items;
   * `strategy` (`"auto"`, `"pre-filter"`, `"in-index"`, `"post-filter"`) forces how.
   */
  search(query: Float32Array, k: number, knobs?: Knobs | null, filterJson?: string | null, strategy?: string | null): RawHit[];
  /** Searches `queries.length / dimension` queries at once. */
  searchBatch(queries: Float32Array, k: number, knobs?: Knobs | null): RawHit[][];
  /** The exact `k` best items by brute force over the stored vectors, whatever the index. */
  searchExact(query: Float32Array, k: number): RawHit[];
  /** Number of stored items. */
  readonly length: number;
  /** Components per vector. */
  readonly dimension: number;
  /** The metric name. */
  readonly metric: string;
  /** The canonical index spec. */
  readonly spec: string;
  /** Whether the index keeps the full f32 vectors once trained (`keepVectors` at creation). */
  readonly keepVectors: boolean;
  /** Bytes held (index, ids, metadata). */
  memoryBytes(): number;
  /** Trains the index on the vectors it holds (IVF: k-means); a no-op for other families. */
  train(): void;
  /** Whether the index has trained. */
  readonly isTrained: boolean;
  /**
   * Finds the smallest `nprobe` (IVF) or `efSearch` (HNSW) reaching `targetRecall` at `k` on
   * `queries` (`m × dimension` floats; a sample of stored vectors when omitted) and keeps it as
   * the default.
   */
  tune(queries: Float32Array | null | undefined, targetRecall: number, k: number): TuneReport;
  /**
   * Recall@k against exact search over the stored vectors, on `queries` or on `sample` stored
   * vectors (leave-one-out); unset knobs take the defaults.
   */
  measureRecall(queries: Float32Array | null | undefined, k: number, sample: number, knobs?: Knobs | null): { recall: number; queries: number };
  /** The knob values used when a search leaves them unset (an unset knob is absent). */
  searchDefaults(): { efSearch?: number; nprobe?: number; rerank?: number };
  /** Replaces the knob values used when a search leaves them unset. */
  setSearchDefaults(knobs?: Knobs | null): void;
  /** Heap bytes by component. */
  memoryBreakdown(): { vectors: number; codes: number; graph: number; ids: number; metadata: number; cache: number; other: number; total: number };
  /**
   * Full build only (like the cold-vector methods below): keeps full vectors cold (a lossy
   * store created with `keepVectors: false`): rerank reads its
   * candidates' rows through {@link coldMissing}/{@link stageColdRows}, cached in an LRU of at
   * most `cacheBytes`. Returns the size of one stored row. Called again, it changes the budget.
   */
  enableColdVectors?(cacheBytes: number): number;
  /**
   * `[firstInternalId, rows]`: the encoded rows of a batch about to be added or upserted, under
   * the internal ids it will get; write them at `id × rowBytes` before adding the batch.
   */
  coldRowsFor?(ids: string[], vectors: Float32Array): [number, Uint8Array];
  /**
   * Internal ids whose rows the last `search` or `searchBatch` lacked: empty when its result is
   * final. Otherwise its hits were scored with those rows as zeros: read the rows, pass them to
   * {@link stageColdRows} and run the same call again (the package's `VectorStore` does this).
   */
  coldMissing?(): Uint32Array;
  /** Checks (`corrupt` on a bad row) and stages rows read for the ids `coldMissing` returned; then search again. */
  stageColdRows?(ids: Uint32Array, rows: Uint8Array): void;
  /** Forgets a search that will not be finished. */
  abandonColdSearch?(): void;
  /** Row size and cache counters, or `undefined` without cold vectors. */
  coldReport?(): { rowBytes: number; cacheBudgetBytes: number; cachedRows: number; cacheHits: number; rowsRead: number } | undefined;
  /** Deleted vectors the index still holds (HNSW tombstones). */
  readonly tombstones: number;
  /** Frees the WebAssembly memory now instead of at garbage collection. */
  free(): void;

  /**
   * Starts a save (see `docs/format.md`): the records to write (copies, the manifest last) and
   * the keys to delete. Store them, then {@link Collection.ackSave}; on failure
   * {@link Collection.abortSave}.
   */
  beginSave(): SavePlan;
  /** Marks the save `token` durable. */
  ackSave(token: number): void;
  /** Marks the save `token` failed; the next save writes its changes again. */
  abortSave(token: number): void;
  /** Journals changes from now on (an empty collection that will be saved to shared storage). */
  enableJournal(): void;
  /** Makes the next save a full snapshot. */
  compact(): void;
  /** Whether anything changed since the last acknowledged save. */
  readonly hasUnsavedChanges: boolean;
  /** Version of the last saved or opened manifest (0 before the first save). */
  readonly savedVersion: number;
  /** How to catch up with a newer manifest of the same store. */
  updatePlan(manifest: Uint8Array): UpdatePlan;
  /** Replays the new operations of `manifest`; `chunks[i]` holds the record `keys[i]`. */
  applyUpdate(manifest: Uint8Array, keys: string[], chunks: (Uint8Array | undefined)[]): void;
  /** Replays this collection's unsaved changes onto `target` (a newer version of the store). */
  rebaseOnto(target: Collection): void;
}

/** What {@link Collection.beginSave} returns. */
export interface SavePlan {
  /** Pass to `ackSave` / `abortSave`. */
  token: number;
  /** Records to write as `[key, bytes]`, in order; the manifest (key `"manifest"`) is last. */
  puts: [key: string, bytes: Uint8Array][];
  /** Keys to delete. */
  deletes: string[];
  /** Whether this save writes a full snapshot. */
  full: boolean;
  /** Bytes in `puts`. */
  bytes: number;
}

/** What {@link Collection.updatePlan} returns. */
export interface UpdatePlan {
  /** `"incremental"`: load `keys` and call `applyUpdate`; `"reopen"`: open the store afresh. */
  kind: "upToDate" | "incremental" | "reopen";
  /** The records `applyUpdate` needs (`"incremental"` only). */
  keys?: string[];
}

/** What {@link CollectionConstructor.manifestInfo} returns. */
export interface ManifestInfo {
  /** Commit counter. */
  version: number;
  /** Bumped by every full snapshot. */
  generation: number;
  dimension: number;
  metric: string;
  spec: string;
  /** Stored items. */
  items: number;
  snapshotBytes: number;
  logBytes: number;
  logOps: number;
}

/** What {@link Collection.tune} chose. */
export interface TuneReport {
  /** The knob it set. */
  knob: "nprobe" | "efSearch";
  /** The value it set. */
  value: number;
  /** The recall measured at that value. */
  recall: number;
  /** Whether `targetRecall` was reached. */
  reached: boolean;
  /** How many queries were measured. */
  queries: number;
}

/** What {@link CollectionConstructor} takes. */
export interface CreateOptions {
  /** Components per vector. */
  dimension: number;
  /** `"cosine"`, `"l2"` or `"dot"`. */
  metric: string;
  /** The index spec (`"Flat"`, `"HNSW16"`, `"IVF64,PQ16"`, …). */
  spec: string;
  /** Fixes every randomized step (k-means, PQ training, HNSW levels). */
  seed?: number | null | undefined;
  /** `false` (quantized specs only) drops the full vectors once the index has trained. */
  keepVectors?: boolean | null | undefined;
}

/** The constructor of {@link Collection}. */
export interface CollectionConstructor {
  /**
   * An empty collection (see {@link CreateOptions}); `keepVectors: false` on an unquantized
   * spec is `invalid_argument`, and so is a malformed options object.
   */
  new (options: CreateOptions): Collection;
  /** The record keys {@link CollectionConstructor.open} needs for this manifest. */
  requiredChunks(manifest: Uint8Array): string[];
  /**
   * Grows the wasm heap to fit the store `manifest` describes and maps its pages. Call it while
   * the records load, so that this work overlaps the reads rather than the decode in
   * {@link CollectionConstructor.open}. Ignores a bad manifest (`open` reports it).
   */
  prepareOpen(manifest: Uint8Array): void;
  /** Opens a stored collection: `chunks[i]` holds the record `keys[i]`. */
  open(manifest: Uint8Array, keys: string[], chunks: (Uint8Array | undefined)[]): Collection;
  /** What a stored manifest says. */
  manifestInfo(manifest: Uint8Array): ManifestInfo;
  /**
   * Chunk keys among `stored` (keys inside the store) that no save will read or delete:
   * leftovers of a save that crashed before its manifest. With no manifest, every chunk key.
   */
  orphanChunks(manifest: Uint8Array | undefined, stored: string[]): string[];
}

/** The low-level collection class. */
export const Collection: CollectionConstructor = raw.Collection;
/** Whether this build uses the SIMD128 kernels. */
export const simdEnabled: () => boolean = raw.simdEnabled;
/** The core's version. */
export const version: () => string = raw.version;
/** Every error code the core can raise. */
export const errorCodes: () => string[] = raw.errorCodes;
/** Inner product of two equal-length vectors. */
export const dot: (a: Float32Array, b: Float32Array) => number = raw.dot;
/** Squared Euclidean distance of two equal-length vectors. */
export const l2Squared: (a: Float32Array, b: Float32Array) => number = raw.l2Squared;

/**
 * Which build holds `spec`'s family: `"built"` (the lean build), `"fullBuildOnly"` (take the
 * `Collection` of {@link loadFullBuild}) or `"never"` (no build: `invalid_spec`). A spec that
 * does not parse throws `invalid_spec`.
 */
export const specAvailability: (spec: string) => "built" | "fullBuildOnly" | "never" = raw.specAvailability;

/** The low-level binding of one build (what {@link loadFullBuild} resolves to). */
export interface LowLevelBuild {
  /** The collection class of this build. */
  Collection: CollectionConstructor;
  /** `true` for the full build. */
  isFullBuild(): boolean;
}

/**
 * Loads the full build (every index family: IVF, SQ8, PQ, BIN besides Flat and `HNSW{m}`) once
 * and resolves to its binding. Stores load it themselves when their index needs it; low-level
 * callers use its `Collection` for those families.
 */
export function loadFullBuild(): Promise<LowLevelBuild> {
  return loadFullEngine().then((engine) => ({ Collection: engine.Collection, isFullBuild: engine.isFullBuild }));
}
