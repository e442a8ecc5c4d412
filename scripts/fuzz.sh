#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one at a time, with libFuzzer's
# memory limits so unbounded allocation counts as a crash. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP. Prints the executions
# each target ran clean (the figures in docs/reliability.md). A crash leaves its input in
# fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ so tests/fuzz_regressions.rs
# replays it in `cargo test`.
#
# The targets build without a sanitizer by default (FUZZ_SANITIZER=none: about 6x faster than
# AddressSanitizer on these targets); the single-allocation limit is then enforced by the
# targets' own allocator (fuzz/common/limit_alloc.rs, 256 MB like -malloc_limit_mb below).
# `bash scripts/fuzz.sh replay` re-runs every corpus input (seed, grown and regressions) once
# under AddressSanitizer, which checks what the fast runs found interesting for memory errors
# in unsafe code. FUZZ_SANITIZER=address runs the whole fuzzing under ASan instead.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=${FUZZ_TARGETS:-"filter_parse collection_ops snapshot_open oplog_replay"}
export RUSTC_BOOTSTRAP=1
limits=(-rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10)

if [ "${1:-}" = replay ]; then
    # ASan builds into its own target directory, so switching modes does not rebuild.
    cargo fuzz build -O -s address --target-dir target/asan
    for target in $targets; do
        mkdir -p "corpus/$target" "work-corpus/$target" "regressions/$target"
        echo "== $target (replay under ASan)"
        "target/asan/x86_64-unknown-linux-gnu/release/$target" "${limits[@]}" -runs=0 \
            "work-corpus/$target" "corpus/$target" "regressions/$target" 2>&1 | tail -n 3
    done
    exit 0
fi

seconds=${1:-60}
sanitizer=${FUZZ_SANITIZER:-none}
cargo fuzz build -O -s "$sanitizer"
for target in $targets; do
    mkdir -p "corpus/$target" "work-corpus/$target"
    log="fuzz-$target.log"
    echo "== $target ($seconds s, sanitizer $sanitizer)"
    # New inputs go to work-corpus/ (ignored by git); the committed seed corpus stays small.
    cargo fuzz run -O -s "$sanitizer" "$target" "work-corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" "${limits[@]}" \
        -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+ +(DONE|pulse))|ERROR|panicked|stat::number_of_executed_units" || true
    if grep -q "ERROR\|panicked" "$log"; then
        echo "$target: CRASH, see fuzz/$log and fuzz/artifacts/$target/" >&2
        exit 1
    fi
    echo "$target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') executions clean"
done
