#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one at a time, with libFuzzer's
# memory limits so unbounded allocation counts as a crash. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP. Prints the executions
# each target ran clean (the figures in docs/reliability.md). A crash leaves its input in
# fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ so tests/fuzz_regressions.rs
# replays it in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
targets=${FUZZ_TARGETS:-"filter_parse collection_ops snapshot_open"}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in $targets; do
    mkdir -p "corpus/$target" "work-corpus/$target"
    log="fuzz-$target.log"
    echo "== $target ($seconds s)"
    # New inputs go to work-corpus/ (ignored by git); the committed seed corpus stays small.
    cargo fuzz run -O "$target" "work-corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10 \
        -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+ +(DONE|pulse))|ERROR|panicked|stat::number_of_executed_units" || true
    if grep -q "ERROR\|panicked" "$log"; then
        echo "$target: CRASH, see fuzz/$log and fuzz/artifacts/$target/" >&2
        exit 1
    fi
    echo "$target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') executions clean"
done
