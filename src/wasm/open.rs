//! The binding of opening a store: records handed over by JavaScript, all at once
//! ([`JsChunks`], for `Collection.open` and `applyUpdate`) or as each read completes
//! ([`WasmOpenSession`]).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

use super::{Result, WasmCollection};
use crate::api;
use crate::collection::Collection;
use crate::snapshot::{ChunkSource, OpenSession};

#[wasm_bindgen(js_class = Collection)]
impl WasmCollection {
    #[wasm_bindgen(js_name = requiredChunks)]
    pub fn required_chunks(manifest: &[u8]) -> Result<Vec<String>> {
        Collection::required_chunks(manifest)
    }

    #[wasm_bindgen(js_name = orphanChunks)]
    pub fn orphan_chunks(manifest: Option<Vec<u8>>, stored: Vec<String>) -> Result<Vec<String>> {
        api::orphan_chunks(manifest.as_deref(), &stored)
    }

    #[wasm_bindgen(js_name = prepareOpen)]
    pub fn prepare_open(manifest: &[u8]) {
        Collection::prepare_open(manifest);
    }

    pub fn open(
        manifest: &[u8],
        keys: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "(Uint8Array | undefined)[]")] chunks: Array,
    ) -> Result<WasmCollection> {
        let inner = Collection::open(manifest, &mut JsChunks::new(keys, chunks))?;
        Ok(WasmCollection { inner })
    }

    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(
        &mut self,
        manifest: &[u8],
        keys: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "(Uint8Array | undefined)[]")] chunks: Array,
    ) -> Result<()> {
        self.inner
            .apply_update(manifest, &mut JsChunks::new(keys, chunks))
    }
}

/// Records loaded by JavaScript, copied into wasm memory one at a time as decoding reaches
/// them.
struct JsChunks {
    index: std::collections::HashMap<String, u32>,
    chunks: Array,
}

impl JsChunks {
    fn new(keys: Vec<String>, chunks: Array) -> Self {
        let index = keys.into_iter().zip(0..).collect();
        JsChunks { index, chunks }
    }

    fn get(&self, key: &str) -> Option<Uint8Array> {
        let i = *self.index.get(key)?;
        self.chunks.get(i).dyn_into::<Uint8Array>().ok()
    }
}

impl ChunkSource for JsChunks {
    fn stored_len(&self, key: &str) -> Option<usize> {
        self.get(key).map(|a| a.length() as usize)
    }

    fn read(&mut self, key: &str) -> Option<Vec<u8>> {
        self.get(key).map(|a| a.to_vec())
    }
}

/// A store being opened while its records load (`snapshot::OpenSession`): each record is
/// checked as it arrives, overlapping the remaining reads. `free()` abandons the open.
#[wasm_bindgen(js_name = OpenSession)]
pub struct WasmOpenSession {
    inner: Option<OpenSession>,
}

#[wasm_bindgen(js_class = OpenSession)]
impl WasmOpenSession {
    #[wasm_bindgen(constructor)]
    pub fn new(manifest: &[u8]) -> Result<WasmOpenSession> {
        let inner = Some(OpenSession::new(manifest)?);
        Ok(WasmOpenSession { inner })
    }

    pub fn keys(&self) -> Vec<String> {
        self.inner
            .as_ref()
            .map_or(Vec::new(), |s| s.keys().to_vec())
    }

    pub fn prepare(&self) {
        if let Some(session) = &self.inner {
            session.prepare();
        }
    }

    pub fn accept(&mut self, index: u32, bytes: Vec<u8>) -> Result<()> {
        let session = self.inner.as_mut().ok_or_else(OpenSession::spent)?;
        session.accept(index as usize, bytes)
    }

    /// The session is spent either way.
    pub fn finish(&mut self) -> Result<WasmCollection> {
        let session = self.inner.take().ok_or_else(OpenSession::spent)?;
        Ok(WasmCollection {
            inner: session.finish()?,
        })
    }
}
