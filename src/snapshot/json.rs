//! Stored metadata is JSON text; this reads it back.

use serde_json::Value;

/// Parses stored JSON text (through `from_str`, the instantiation the rest of the crate uses,
/// which keeps a second parser out of the `.wasm`).
pub(crate) fn parse_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}
