//! Filter parsing: arbitrary bytes as JSON filter text. Parsing must never panic, and a filter
//! that parses must evaluate (totally) against arbitrary metadata.
#![no_main]

#[path = "../common/limit_alloc.rs"]
mod limit_alloc;

#[global_allocator]
static ALLOC: limit_alloc::LimitedAlloc = limit_alloc::LimitedAlloc;

use libfuzzer_sys::fuzz_target;
use quiver::filter::Filter;

fuzz_target!(|data: &[u8]| {
    // First line: the filter; the rest: metadata to evaluate it against.
    let (filter_bytes, meta_bytes) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(filter_bytes) else {
        return;
    };
    match Filter::from_json_str(text) {
        Ok(filter) => {
            let metadata: Option<serde_json::Value> = serde_json::from_slice(meta_bytes).ok();
            let _ = filter.matches(metadata.as_ref());
            let _ = filter.matches(None);
        }
        Err(e) => assert_eq!(e.code(), "invalid_filter", "unexpected error {e:?}"),
    }
});
