#!/usr/bin/env bash
# Filtered search benchmark (native, release): for each index family, the median latency and
# filtered recall@10 of every strategy (auto, pre-filter, in-index, post-filter) at several
# selectivities, without and with a field index, on dev-minilm-20k (see bench/README.md,
# "Filtered search"). Usage:
#   bash bench/filter.sh [QUERIES] [PER_MILLE,...] [SPEC...]
# Defaults: 50 queries; 1,10,100,500 per mille (0.1%, 1%, 10%, 50%); the families below.
# Output: bench/results/filter-<time>.md (gitignored), the summary tables also on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
queries="${1:-50}"
per_mille="${2:-1,10,100,500}"
shift $(( $# > 2 ? 2 : $# ))
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(Flat IVF128 HNSW16 SQ8 IVF128,SQ8 IVF128,PQ48 BIN)
mkdir -p bench/results
out="bench/results/filter-$(date -u +%Y%m%dT%H%M%S).md"
cargo build --release --example filter_strategies >&2
for spec in "${specs[@]}"; do
  echo "[filter] $spec" >&2
  target/release/examples/filter_strategies "$spec" "$queries" "$per_mille" | tee -a "$out" \
    | sed -n '/^Median/,$p'
done
echo "[filter] full output: $out" >&2
