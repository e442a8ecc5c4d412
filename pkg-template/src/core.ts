/**
 * The environment-independent API of Quiver. Each entry point (`node`, `deno`, `browser`,
 * `workerd`) makes the WebAssembly module ready its own way, exports `init`, and re-exports
 * this module, so every entry has the same exports and types.
 *
 * @packageDocumentation
 */
export { VectorStore } from "./store.js";
export { WorkerVectorStore, type WorkerCreateOptions, type WorkerOpenOptions } from "./worker/client.js";
export { serveWorker, type ServeWorkerOptions } from "./worker/serve.js";
export type { MessageEndpoint } from "./worker/protocol.js";
export {
  ShardedStore,
  ShardError,
  fnv1a32,
  shardOf,
  mergeTopK,
  reshard,
  type ShardedOptions,
  type ShardedSearchResult,
  type ShardedWorkersOptions,
  type ShardSearchMany,
} from "./sharded.js";
export { QuiverError, isQuiverError, type QuiverErrorCode } from "./errors.js";
export { MemoryStorage, storeKeyPrefix, type RowFile, type StorageAdapter, type StorageEntry } from "./storage/adapter.js";
export type {
  CreateOptions,
  FieldCondition,
  FieldFilter,
  Filter,
  FilterScalar,
  FilterValue,
  FilterValueObject,
  IndexSpec,
  Item,
  JsonValue,
  MeasureRecallOptions,
  ColdStats,
  MemoryBreakdown,
  Metadata,
  Metric,
  OpenOptions,
  Progress,
  QuiverStore,
  RecallReport,
  SearchHit,
  SearchParams,
  SearchRequest,
  StoredItem,
  StoredMetadata,
  StoreStats,
  TaskOptions,
  TuneOptions,
  TuneResult,
  VectorInput,
} from "./types.js";
export { LatencyHistogram, RateWindow, RATE_WINDOW_SECONDS, type LatencySummary, type MetricEvent, type MetricName, type MetricsOptions, type OperationStats } from "./metrics.js";
export {
  Collection,
  simdEnabled,
  version,
  errorCodes,
  dot,
  l2Squared,
  loadFullBuild,
  specAvailability,
  type CollectionConstructor,
  type LowLevelBuild,
  type RawHit,
  type TuneReport,
} from "./lowlevel.js";
export { IndexedDBStorage, type IndexedDBStorageOptions } from "./storage/indexeddb.js";
export { OPFSStorage, type OPFSStorageOptions } from "./storage/opfs.js";
export {
  DurableObjectStorageAdapter,
  type DurableObjectStorageLike,
  type DurableObjectStorageOptions,
} from "./storage/durable-object.js";
