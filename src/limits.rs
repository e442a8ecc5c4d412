//! Documented caps on inputs. They keep a hostile or mistaken caller from making the store
//! allocate without bound (a Cloudflare Worker has 128 MB) and are checked before any work.

/// Largest supported vector dimension (OpenAI `text-embedding-3-large` is 3072).
pub const MAX_DIMENSION: usize = 16_384;

/// Largest `k` a search may ask for.
pub const MAX_K: usize = 10_000;

/// Longest external id, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 1_024;

/// Largest serialized metadata object per item, in bytes.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Most vectors in one `add`/`upsert` batch.
pub const MAX_BATCH: usize = 1 << 20;

/// Most live vectors in one collection (internal ids are `u32`).
pub const MAX_VECTORS: usize = (u32::MAX - 1) as usize;

/// Deepest nesting of JSON values in a metadata filter (the filter object itself is level 1).
pub const MAX_FILTER_DEPTH: usize = 32;

/// Most JSON values (objects, arrays, scalars, each counted once) in a metadata filter.
pub const MAX_FILTER_NODES: usize = 1_024;

/// Longest metadata filter given as JSON text, in bytes.
pub const MAX_FILTER_BYTES: usize = 64 * 1024;

/// Largest `ef_search` (HNSW beam width) a search may ask for: the beam is a heap of this many
/// candidates per query.
pub const MAX_EF_SEARCH: usize = 100_000;

/// Largest `nprobe` (IVF lists scanned) a search may ask for; equals the largest `nlist`.
pub const MAX_NPROBE: usize = 1 << 20;

/// Largest `rerank` depth (candidates rescored exactly) a search may ask for.
pub const MAX_RERANK: usize = 100_000;
