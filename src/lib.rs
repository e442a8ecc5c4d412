//! Quiver: a vector store for the browser and the edge.
//!
//! The core is pure Rust with no threads and no I/O, tested natively with `cargo test`:
//! [`distance`] kernels (scalar and SIMD128), the [`index`] contract and its families, and the
//! [`collection`] facade with string ids and JSON metadata. Only the `wasm` module (compiled on
//! wasm32) talks to JavaScript; storage is the TypeScript package's job.

pub mod api;
pub mod codec;
pub mod collection;
pub mod distance;
pub mod error;
pub mod filter;
pub mod heap;
pub mod index;
pub mod limits;
pub mod quant;
pub mod snapshot;
pub mod texmex;
pub mod topk;
pub mod tune;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use collection::{Collection, CollectionConfig, Item, Record, SearchDefaults, SearchHit};
pub use distance::Metric;
pub use error::{Error, Result};
pub use filter::{Filter, Strategy};
pub use index::{Index, IndexOptions, IndexSpec, Scratch, SearchParams};
pub use topk::Neighbor;
