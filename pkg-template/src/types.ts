/**
 * The types of the public API, shared by the in-thread {@link VectorStore} and the Web Worker
 * front end {@link WorkerVectorStore}: both implement {@link QuiverStore}.
 *
 * @packageDocumentation
 */
import type { MetricsOptions, OperationStats } from "./metrics.js";
import type { StorageAdapter } from "./storage/adapter.js";

/**
 * How vectors are compared.
 * - `"cosine"`: vectors are normalized at insert; score = cosine similarity (higher is better).
 * - `"dot"`: score = inner product (higher is better).
 * - `"l2"`: score = *squared* Euclidean distance (lower is better).
 */
export type Metric = "cosine" | "l2" | "dot";

/**
 * An index configuration in one string, faiss style: `"Flat"` (exact), and as the families
 * land `"HNSW32"`, `"IVF256"`, `"IVF256,PQ48"`, `"HNSW32,SQ8"`, … Unknown specs fail with
 * `invalid_spec`.
 */
export type IndexSpec = "Flat" | (string & {});

/** A JSON value, as stored in metadata. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The default metadata type: any JSON object. */
export type Metadata = { [key: string]: JsonValue };

/** A vector: a `Float32Array` (copied, never kept) or an array of finite numbers. */
export type VectorInput = Float32Array | readonly number[];

/** An item to store. `M` is the metadata type of the store. */
export interface Item<M extends object = Metadata> {
  /** A non-empty string of at most 1,024 UTF-8 bytes, unique in the store. */
  id: string;
  /** Exactly `dimension` finite numbers. */
  vector: VectorInput;
  /** A JSON object (stored as JSON: `undefined` fields are dropped), or nothing. */
  metadata?: M | null | undefined;
}

/** An item as stored, returned by {@link QuiverStore.get}. */
export interface StoredItem<M extends object = Metadata> {
  /** The item's id. */
  id: string;
  /** A copy of the stored vector (unit length in `cosine` stores, which normalize). */
  vector: Float32Array;
  /** The stored metadata; absent when the item has none. */
  metadata?: M;
}

/**
 * An item without its vector, returned by {@link VectorStore.getMetadata}: what a store
 * created with `keepVectors: false` can still return once its index has dropped the vectors.
 */
export interface StoredMetadata<M extends object = Metadata> {
  /** The item's id. */
  id: string;
  /** The stored metadata; absent when the item has none. */
  metadata?: M;
}

/** One search result. */
export interface SearchHit<M extends object = Metadata> {
  /** The item's id. */
  id: string;
  /** The metric's score: cosine similarity, inner product or squared L2 distance. */
  score: number;
  /** The item's metadata; absent when it has none. */
  metadata?: M;
}

/** A JSON scalar in a filter. */
export type FilterScalar = string | number | boolean | null;

/**
 * A JSON value inside a filter: the operand of `$eq`/`$ne`/`$in`/`$nin`, or a containment
 * pattern (`{ tags: ["a", "b"] }`, `{ meta: { lang: "en" } }`). Keys starting with `$` are
 * operators, refused inside values (write `{ "a.b": { $gt: 1 } }`, not
 * `{ a: { b: { $gt: 1 } } }`).
 */
export type FilterValue = FilterScalar | readonly FilterValue[] | FilterValueObject;

/** An object inside a filter value: no `$` keys. */
export interface FilterValueObject {
  readonly [key: string]: FilterValue;
  readonly [operator: `$${string}`]: never;
}

/**
 * Operators on one metadata field; several in one object all apply
 * (`{ year: { $gte: 2015, $lt: 2020 } }`). A missing field fails every predicate, so it passes
 * every negation (`$ne`, `$nin`, `$not`, `$exists: false`).
 */
export interface FieldFilter {
  /** Equal to (structural, numbers by value; no coercion), or an array field with an equal element. */
  readonly $eq?: FilterValue;
  /** Not `$eq`: also true when the field is missing, or no array element is equal. */
  readonly $ne?: FilterValue;
  /** `$eq` to one of the list (an array field: any element in it); `[]` matches nothing. */
  readonly $in?: readonly FilterValue[];
  /** Not `$in` (also true when the field is missing). */
  readonly $nin?: readonly FilterValue[];
  /** Greater than: numbers with numbers, strings with strings (by code point); an array field: any element. */
  readonly $gt?: number | string;
  /** Greater than or equal to (as `$gt`). */
  readonly $gte?: number | string;
  /** Less than (as `$gt`). */
  readonly $lt?: number | string;
  /** Less than or equal to (as `$gt`). */
  readonly $lte?: number | string;
  /** Whether the field is present (with any value, `null` included). */
  readonly $exists?: boolean;
  /** The operators inside (a non-empty object) do not hold. */
  readonly $not?: FieldFilter;
}

/**
 * What a field must satisfy: a scalar (equality, or *contains* for an array field:
 * `{ tags: "rust" }`), an array or object pattern it must contain (PostgreSQL `jsonb @>`, what
 * pgvector's `metadata @> '{...}'` does), or an operator object.
 */
export type FieldCondition = FilterValue | FieldFilter;

/**
 * A metadata filter, MongoDB style: a search with a filter returns the `k` best among the
 * items whose metadata matches — `min(k, matches)` results, whatever the index (the core picks
 * pre-filtering, in-index filtering or post-filtering by estimated selectivity; see
 * docs/filters.md). All keys of one object must hold; `{}` matches everything.
 *
 * - Fields: a name or a dotted path (`"meta.lang"`, through objects only) mapped to a
 *   {@link FieldCondition}: `{ category: "book" }`, `{ tags: "rust" }` (array contains),
 *   `{ year: { $gte: 2015, $lt: 2020 } }`, `{ lang: { $in: ["en", "de"] } }`,
 *   `{ draft: { $exists: false } }`, `{ meta: { lang: "en" } }` (containment).
 * - Combinators: `$and` and `$or` (non-empty arrays of filters), `$not` (a filter).
 *
 * The type catches most misuse at compile time (unknown operators, comparisons with booleans,
 * `$in` without an array, operators inside values such as `{ a: { $in: [{ $gt: 1 }] } }`). It
 * cannot catch everything: a nested object is also a valid sub-filter to the type, so
 * `{ a: { b: { $gt: 1 } } }` compiles (write `{ "a.b": { $gt: 1 } }`), and empty `$and`/`$or`
 * arrays, forbidden keys and the size limits are checked at run time only.
 *
 * A malformed filter (an unknown operator, a comparison with a boolean, an empty `$or`, a
 * field operator outside a field, the keys `__proto__`, `constructor` or `prototype`,
 * nesting deeper than 32 or more than 1,024 values) rejects with a {@link QuiverError} of
 * code `invalid_filter` whose message names the place as a JSON pointer and what is wrong,
 * e.g. `invalid filter at /year/$gt: …`. Nothing in a filter is ever evaluated as code.
 */
export interface Filter {
  /** Every filter in the (non-empty) array holds. */
  readonly $and?: readonly Filter[];
  /** At least one filter in the (non-empty) array holds. */
  readonly $or?: readonly Filter[];
  /** The filter does not hold. */
  readonly $not?: Filter;
  /** Only `$and`, `$or` and `$not` at filter level: other operators belong to a field. */
  readonly [operator: `$${string}`]: Filter | readonly Filter[] | undefined;
  /** A field (name or dotted path) and what it must satisfy. */
  readonly [field: string]: FieldCondition | Filter | readonly Filter[] | undefined;
}

/** Per-query knobs of approximate indexes; exact (`Flat`) search ignores them. */
export interface SearchParams {
  /** HNSW: size of the candidate list (`ef` in Malkov & Yashunin); larger = better recall. */
  efSearch?: number | undefined;
  /** IVF: how many inverted lists to scan (Jégou et al.); larger = better recall. */
  nprobe?: number | undefined;
  /** Quantized indexes: how many candidates to re-score with full vectors. */
  rerank?: number | undefined;
  /**
   * Search by brute force over the stored full vectors instead of the index (the other knobs
   * are ignored): the exact top-k, the ground truth of {@link QuiverStore.measureRecall}. Cost
   * is linear in the number of items. Not combinable with a `filter` (`unsupported`), nor
   * available for indexes that keep no full vectors (`unsupported`).
   */
  exact?: boolean | undefined;
  /**
   * How a filtered search finds its matches (docs/filters.md). `"auto"` (the default) picks by
   * the filter's estimated selectivity; the others force one path:
   * - `"pre-filter"`: an exact scan over the matching items (best when few match);
   * - `"in-index"`: HNSW traverses the whole graph but collects only matches; IVF probes more
   *   lists until enough match;
   * - `"post-filter"`: an oversampled unfiltered search whose results are then filtered.
   *
   * Every path returns `min(k, matches)` results. Ignored without a `filter`.
   */
  filterStrategy?: FilterStrategy | undefined;
}

/** A filtered search's path: see {@link SearchParams.filterStrategy}. */
export type FilterStrategy = "auto" | "pre-filter" | "in-index" | "post-filter";

/** A search request. */
export interface SearchRequest {
  /** The query: exactly `dimension` finite numbers. */
  vector: VectorInput;
  /** How many results, 1 to 10,000. */
  k: number;
  /** Only items whose metadata matches. See {@link Filter}. */
  filter?: Filter | undefined;
  /** Per-query knobs. */
  params?: SearchParams | undefined;
}

/** Progress of a long operation, reported through {@link TaskOptions.onProgress}. */
export interface Progress {
  /** What is running. */
  phase: "add" | "upsert" | "save" | "load";
  /** Units done so far (items for add/upsert; chunks for save/load). */
  done: number;
  /** Units in total. */
  total: number;
}

/** Options of long operations: progress and cancellation. */
export interface TaskOptions {
  /**
   * Cancels the operation. A cancelled operation changes nothing (see each method) and rejects
   * with `signal.reason`.
   */
  signal?: AbortSignal | undefined;
  /**
   * Called as work completes (between chunks, never more than a few hundred times). If it
   * throws, the operation is cancelled and rejects with that error.
   */
  onProgress?: ((progress: Progress) => void) | undefined;
}

/** Options of {@link VectorStore.create}. */
export interface CreateOptions extends MetricsOptions {
  /**
   * The store's name: the key under which it is saved (1 to 256 characters, no `/`).
   * Defaults to `"default"`.
   */
  name?: string | undefined;
  /** Number of components per vector, 1 to 16,384. */
  dimension: number;
  /** Defaults to `"cosine"`. */
  metric?: Metric | undefined;
  /** Defaults to `"Flat"` (exact search). */
  index?: IndexSpec | undefined;
  /** Fixes every randomized step (k-means init, HNSW levels): same seed, same index. */
  seed?: number | undefined;
  /**
   * Quantized indexes (`"SQ8"`, `"PQ{m}"`, `"BIN"`, `"IVF{n},SQ8"`, `"IVF{n},PQ{m}"`,
   * `"HNSW{m},SQ8"`) only. Default `true`: the full f32 vectors (`4 × dimension` bytes per item)
   * are kept beside the codes, for exact reranking, {@link QuiverStore.get}, exact search,
   * {@link QuiverStore.measureRecall} and {@link QuiverStore.tune}.
   *
   * `false` drops them once the index has trained (until then they sit in its exact buffer,
   * which it searches exactly), so only the codes stay in memory and in storage: e.g. `"BIN"` at
   * 384 dimensions holds ~100 bytes per item (plus ids and metadata) instead of ~2,600, `"PQ48"`
   * ~120 (docs/package-api.md). What it costs, from the moment the store is created:
   * - search scores the codes only: no default rerank, so recall is the codes' own (see
   *   docs/quantization.md); an explicit `params.rerank` > 0 rejects with `unsupported`;
   * - `get` of a stored id rejects with `unsupported` (use {@link VectorStore.getMetadata} for
   *   the id and metadata); a `ShardedStore` reads items back for its cross-shard rollback, so
   *   its `delete` and replacing `upsert` reject with `unsupported` over such shards, and
   *   `ShardedStore.withWorkers` refuses `keepVectors: false`;
   * - `params.exact`, `measureRecall` and `tune` need exact results over the stored vectors and
   *   reject with `unsupported` once trained (measure recall against your own ground truth).
   *
   * Saved with the store and restored on open ({@link StoreStats.keepVectors}). Indexes over raw
   * vectors (`"Flat"`, `"HNSW{m}"`, `"IVF{n}"`) reject `false` with `invalid_argument`: their
   * vectors are the index.
   */
  keepVectors?: boolean | undefined;
  /**
   * Keeps the full f32 vectors in `storage` instead of memory, for exact rerank with only the
   * codes (and lists or graph) in RAM: `true`, or `{ cacheBytes }` to size the LRU cache of
   * rows read for reranking (default 16 MiB). Quantized indexes only; implies
   * `keepVectors: false` and needs `storage` (docs/memory.md, "Cold vectors").
   *
   * Each add or upsert writes its vectors to storage before it changes the store (one file of
   * fixed-size rows with `FileStorage` and `OPFSStorage` in a Worker; one record per vector with
   * other adapters). A search whose candidates are not all cached reads the missing rows (about
   * `rerank` rows, e.g. 100 for k = 10 with PQ) and scores the codes a second time, so it costs
   * about twice a codes-only search plus the reads, and answers exactly as the same index with
   * its vectors in memory. `get`, `exact`, `measureRecall` and `tune` behave as with
   * `keepVectors: false`. Not saved with the store: pass it on every open (without it, a cold
   * store opens as codes-only). One instance writes a cold store at a time.
   */
  coldVectors?: boolean | { cacheBytes?: number | undefined } | undefined;
  /**
   * The most heap bytes ({@link StoreStats.memoryBytes}) the store may hold, e.g. to stay inside
   * a Worker's 128 MB. An `add` or `upsert` whose estimated footprint would pass it rejects
   * with `memory_budget_exceeded` and changes nothing; searches and deletes are never refused.
   * A budget that cannot hold what the store holds plus one item rejects `create` (or
   * `open`) with the same code. Not
   * saved with the store: pass it on every open. Default: no budget. The estimate prices each
   * new item at the store's current bytes per item, so one batch can overshoot by a buffer's
   * growth step (docs/reliability.md).
   */
  memoryBudget?: number | undefined;
  /**
   * Metadata fields (dotted paths such as `"author.name"`) to index for filtering: each keeps
   * a bitmap per value (and sorted numbers for ranges), so filters on it are estimated and
   * answered without scanning every item's metadata. Saved with the store.
   */
  indexedFields?: readonly string[] | undefined;
  /**
   * Where {@link QuiverStore.save} writes: `IndexedDBStorage`, `FileStorage`,
   * `DurableObjectStorageAdapter` or `MemoryStorage`. Optional: without it the store lives in
   * memory only.
   */
  storage?: StorageAdapter | undefined;
}

/**
 * Options of {@link VectorStore.open}: the store `name` in `storage`. When no such store
 * exists and `dimension` is given, an empty one is created with these options.
 */
export interface OpenOptions extends Omit<CreateOptions, "dimension" | "storage" | "name">, TaskOptions {
  /** The store's name (see {@link CreateOptions.name}). */
  name: string;
  /** Where the store is kept. */
  storage: StorageAdapter;
  /** Required to create the store when it does not exist yet. */
  dimension?: number | undefined;
}

/** Heap bytes of a store by component (they sum to `total`). */
export interface MemoryBreakdown {
  /** Full f32 vectors: flat rows, HNSW storage, vectors kept for reranking, IVF's pre-training buffer. */
  vectors: number;
  /** Encoded vectors: quantized codes, IVF inverted lists (raw vectors for IVF-Flat), codebooks, centroids. */
  codes: number;
  /** Graph links (HNSW). */
  graph: number;
  /** External (string) ids and their lookup table (about 15 bytes per id plus its length). */
  ids: number;
  /** JSON metadata, its map and the field indexes. */
  metadata: number;
  /** Rows of cold vectors cached or read for reranking ({@link CreateOptions.coldVectors}); 0 otherwise. */
  cache: number;
  /** Everything else: internal id maps, build buffers. */
  other: number;
  /** The sum; equals `memoryBytes`. */
  total: number;
}

/**
 * What {@link QuiverStore.stats} reports: configuration, counts, memory, and the operation
 * metrics (`search`, `insert`, `deletes`, `windowSeconds`; zero when the store was created with
 * `metrics: false`). Rates are over the last 60 seconds, or the store's age if younger.
 */
export interface StoreStats extends OperationStats {
  /** The store's name. */
  name: string;
  /** Number of stored items. */
  count: number;
  /**
   * Deleted vectors the index still holds: HNSW keeps deleted nodes as tombstones for
   * traversal until it consolidates (at 10% of the graph); other families free them at once (0).
   */
  tombstones: number;
  /** {@link CreateOptions.memoryBudget}, or `null` without one. */
  memoryBudget: number | null;
  /** {@link StoreStats.memoryBytes} by component. */
  memory: MemoryBreakdown;
  /** The knob values searches use when they leave them unset (e.g. set by `tune`). */
  searchDefaults: SearchParams;
  /** Metadata fields with an index for filtering (see {@link CreateOptions.indexedFields}), sorted. */
  indexedFields: string[];
  /** Components per vector. */
  dimension: number;
  /** The metric. */
  metric: Metric;
  /** The canonical index spec. */
  index: string;
  /**
   * Whether the index keeps the full f32 vectors beside its codes ({@link CreateOptions.keepVectors};
   * always `true` for indexes over raw vectors). `false` takes effect once the index has trained:
   * `memory.vectors` shows what is still held.
   */
  keepVectors: boolean;
  /** Cold vectors ({@link CreateOptions.coldVectors}): where they are, and the cache's counters; `null` otherwise. */
  cold: ColdStats | null;
  /** Bytes held in WebAssembly memory by the store (index, ids, metadata). */
  memoryBytes: number;
  /** Whether the SIMD128 kernels are in use. */
  simd: boolean;
  /** The core's version. */
  version: string;
}

/** {@link StoreStats.cold}. */
export interface ColdStats {
  /** The file or key prefix holding the rows. */
  location: string;
  /** Bytes per stored row (`4 × dimension + 12`). */
  rowBytes: number;
  /** The cache's byte budget. */
  cacheBudgetBytes: number;
  /** Rows in the cache. */
  cachedRows: number;
  /** Candidate rows found in the cache, since the store was opened. */
  cacheHits: number;
  /** Rows read from storage, since the store was opened. */
  rowsRead: number;
}

/** Options of {@link QuiverStore.measureRecall}. */
export interface MeasureRecallOptions extends TaskOptions {
  /** Results per query compared, 1 to 10,000. */
  k: number;
  /** Queries to measure on; when omitted, `sample` stored vectors, each searched leave-one-out. */
  queries?: readonly VectorInput[] | undefined;
  /** Stored vectors sampled when `queries` is omitted (seeded by the store's seed). Default 100. */
  sample?: number | undefined;
  /** Search knobs to measure at; unset ones take the store's defaults (e.g. tuned ones). */
  params?: SearchParams | undefined;
}

/** What {@link QuiverStore.measureRecall} found. */
export interface RecallReport {
  /** Recall@k: the fraction of the exact top-k (brute force over the same store) found. */
  recall: number;
  /** The `k` measured. */
  k: number;
  /** Queries evaluated. */
  queries: number;
  /** The knobs the search ran with (the given ones over the store's defaults). */
  params: SearchParams;
}

/** Options of {@link QuiverStore.tune}. */
export interface TuneOptions extends TaskOptions {
  /** The recall@k to reach, in (0, 1]. */
  targetRecall: number;
  /** Results per query, 1 to 10,000. */
  k: number;
  /** Queries to tune on; when omitted, 100 stored vectors sampled, searched leave-one-out. */
  queries?: readonly VectorInput[] | undefined;
}

/** The operating point {@link QuiverStore.tune} chose and set. */
export interface TuneResult {
  /** The knob set: `nprobe` for IVF, `efSearch` for HNSW. */
  knob: "nprobe" | "efSearch";
  /** Its value, now the store's default. */
  value: number;
  /** Recall@k measured at that value. */
  recall: number;
  /** Whether `targetRecall` was reached (if not, `value` is the largest tried). */
  reached: boolean;
  /** Queries evaluated. */
  queries: number;
  /** The store's search defaults after tuning. */
  params: SearchParams;
}

/**
 * The store contract, implemented by {@link VectorStore} (in this thread) and
 * {@link WorkerVectorStore} (in a Web Worker). Every method is async so both behave the same;
 * calls on one store run one at a time, in call order.
 */
export interface QuiverStore<M extends object = Metadata> {
  /** The store's name. */
  readonly name: string;
  /** Components per vector. */
  readonly dimension: number;
  /** The metric. */
  readonly metric: Metric;
  /** The canonical index spec (e.g. `"Flat"`). */
  readonly index: string;
  /** Whether {@link QuiverStore.close} was called. */
  readonly closed: boolean;

  /**
   * Adds new items, all or nothing: if any item is invalid, any id is already stored or
   * repeated, or the call is cancelled, nothing is added. Large batches are sent to the core in
   * chunks, with progress and cancellation between chunks.
   */
  add(items: readonly Item<M>[], options?: TaskOptions): Promise<void>;
  /** Adds new items and replaces existing ones (vector and metadata), all or nothing. */
  upsert(items: readonly Item<M>[], options?: TaskOptions): Promise<void>;
  /**
   * Deletes items by id, all or nothing: if any id is unknown, fails with `not_found` and
   * deletes nothing. Resolves to the number deleted.
   */
  delete(ids: string | readonly string[]): Promise<number>;
  /**
   * The stored item, or `undefined` if the id is not stored. Rejects with `unsupported` for a
   * stored id in a store created with `keepVectors: false` (it has no vectors to return).
   */
  get(id: string): Promise<StoredItem<M> | undefined>;
  /** The `k` best items for the query, best first. */
  search(request: SearchRequest): Promise<SearchHit<M>[]>;
  /**
   * Writes what changed since the last save to the store's storage; resolves once the storage
   * confirmed it. Rejects with `unsupported` without storage, `quota_exceeded` or
   * `storage_error` when the write fails (the stored store is then unchanged and the changes
   * stay unsaved).
   */
  save(options?: TaskOptions): Promise<void>;
  /**
   * Saves the store as a new full snapshot, folding the op log in, so the next open replays
   * nothing (saves also compact by themselves, by the policy of `docs/format.md`). Progress,
   * cancellation and errors as {@link QuiverStore.save}.
   */
  compact(options?: TaskOptions): Promise<void>;
  /** Counts, sizes, configuration and operation metrics. */
  stats(): Promise<StoreStats>;
  /**
   * Recall@k of this store's search against exact search over the same items (see
   * {@link MeasureRecallOptions}).
   */
  measureRecall(options: MeasureRecallOptions): Promise<RecallReport>;
  /**
   * Finds the smallest `efSearch` (HNSW) or `nprobe` (IVF) whose recall@k reaches
   * `targetRecall`, makes it the store's default, and returns it. Rejects with `unsupported`
   * for `Flat` (exact: nothing to tune) and `not_trained` for an IVF that has not trained.
   */
  tune(options: TuneOptions): Promise<TuneResult>;
  /**
   * Sets the knob values searches use when they leave them unset (what {@link QuiverStore.tune}
   * sets): each knob given as a number replaces the default, knobs left out keep theirs.
   * Persisted with the store's settings on the next save. Resolves to the new defaults.
   */
  setSearchDefaults(params: SearchParams): Promise<SearchParams>;
  /**
   * Releases the store's memory. Calls already made finish first; later calls reject with
   * `closed`. Unsaved changes are lost. Idempotent.
   */
  close(): Promise<void>;
}
