//! Replays the fuzz inputs kept in the repository (fuzz/corpus/filter_parse, the seed corpus,
//! and fuzz/regressions/filter_parse, every crash found) through the same checks as the
//! `filter_parse` fuzz target, so `cargo test` guards them without cargo-fuzz. Crashes of the
//! `collection_ops` target, whose input is a structured operation list, become hand-written
//! cases in tests/model.rs or tests/bad_input.rs instead.

use std::path::Path;

use quiver::Filter;

/// The `filter_parse` target's body: first line the filter, the rest metadata to evaluate.
fn filter_parse(data: &[u8]) {
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
}

fn inputs(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn filter_parse_corpus_and_regressions_replay_clean() {
    let mut count = 0;
    for dir in ["fuzz/corpus/filter_parse", "fuzz/regressions/filter_parse"] {
        for (name, data) in inputs(dir) {
            eprintln!("replaying {name}");
            filter_parse(&data);
            count += 1;
        }
    }
    assert!(count >= 5, "the seed corpus is missing ({count} inputs)");
}

/// Inputs at the parser's limits: deep nesting and many nodes are refused, not overflowed.
#[test]
fn hostile_filters_are_refused_cleanly() {
    let deep = format!("{}1{}", "{\"$not\":".repeat(10_000), "}".repeat(10_000));
    filter_parse(deep.as_bytes());
    let wide = format!("{{\"a\":{{\"$in\":[{}]}}}}", vec!["1"; 100_000].join(","));
    filter_parse(wide.as_bytes());
    let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    filter_parse(arrays.as_bytes());
    filter_parse(b"{\"a\":\"\\ud800\"}");
    filter_parse(&[0xff, 0xfe, b'{', b'}']);
}
