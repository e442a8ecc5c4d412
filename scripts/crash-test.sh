#!/usr/bin/env bash
# The scaled-up Chromium crash test (issue 12): ROUNDS rounds (default 1000) of the crash test in
# tests/package/browser-persist.test.mjs (tests/package/crash-harness.mjs). Each round lets a
# writer in headless Chromium save step after step into IndexedDB, kills it at a random moment
# in one of the kill modes, reopens the profile and checks that the store opens and holds every
# acknowledged save (and in-flight saves whole or not at all). Kill modes, taken in turn:
#   sigkill           SIGKILL of the whole browser (process group)
#   page-crash        CDP Page.crash of the writer's page
#   browser-crash     CDP Browser.crash
#   worker-terminate  worker.terminate() of a Web Worker holding the store (WorkerVectorStore)
#   abort-commit      the IndexedDB transaction of a save aborted mid-commit (the save must
#                     reject, and the store hold exactly the acknowledged saves)
# The test itself fails on any lost write or failed open, so a passing run means 0 of each.
#
# Rounds run in batches of QUIVER_CRASH_BATCH (default 100): each batch uses a fresh profile
# (the store grows from round to round) and the seeds QUIVER_CRASH_SEED + round, so no round
# repeats another. CI runs the short version (25 rounds, every mode) inside `node --test`.
#
#   bash scripts/crash-test.sh [--modes m1,m2,...|all] [ROUNDS]   (needs pkg/: bash scripts/build-pkg.sh)
#
# Env: CHROMIUM (browser path, default /usr/bin/chromium), QUIVER_CRASH_SEED (first seed,
# default from the clock), QUIVER_CRASH_BATCH, QUIVER_CRASH_MODES (as --modes; default all).
# Takes a few seconds per round.
set -euo pipefail
cd "$(dirname "$0")/.."
modes=${QUIVER_CRASH_MODES:-all}
rounds=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --modes) modes=$2; shift 2 ;;
        --modes=*) modes=${1#--modes=}; shift ;;
        -*) echo "usage: $0 [--modes m1,m2,...|all] [ROUNDS]" >&2; exit 2 ;;
        *) rounds=$1; shift ;;
    esac
done
batch=${QUIVER_CRASH_BATCH:-100}
seed=${QUIVER_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
[ -f pkg/dist/node.js ] || bash scripts/build-pkg.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)
done_rounds=0 acked=0 committed=0 resets=0 b=0 ab_before=0 ab_part=0 ab_after=0 ab_retried=0
declare -A m_rounds m_acked m_committed m_resets m_aborted m_ms
order=()
while [ "$done_rounds" -lt "$rounds" ]; do
    n=$(( rounds - done_rounds < batch ? rounds - done_rounds : batch ))
    s=$(( seed + done_rounds ))
    echo "== batch $b: $n rounds, QUIVER_CRASH_SEED=$s QUIVER_CRASH_MODES=$modes ($(date -u +%H:%M:%S))"
    if ! QUIVER_CRASH_ROUNDS=$n QUIVER_CRASH_SEED=$s QUIVER_CRASH_MODES=$modes \
        node --test --test-name-pattern='^crash' tests/package/browser-persist.test.mjs >"$log" 2>&1; then
        cat "$log"
        echo "crash test FAILED in batch $b (QUIVER_CRASH_ROUNDS=$n QUIVER_CRASH_SEED=$s QUIVER_CRASH_MODES=$modes) after $done_rounds rounds passed" >&2
        exit 1
    fi
    line=$(grep -o 'crash test: [0-9]* rounds, [0-9]* acknowledged saves, [0-9]* unreported saves found committed, [0-9]* browser resets' "$log" | head -1)
    if [ -z "$line" ]; then
        cat "$log"
        echo "crash test: batch $b printed no summary (did the test run?)" >&2
        exit 1
    fi
    echo "   $line"
    grep -oE 'crash (mode [a-z-]+|aborts): .*' "$log" | sed 's/^/   /' || true
    read -r a c r < <(echo "$line" | sed -E 's/.* ([0-9]+) acknowledged saves, ([0-9]+) unreported saves found committed, ([0-9]+) browser resets.*/\1 \2 \3/')
    acked=$(( acked + a ))
    committed=$(( committed + c ))
    resets=$(( resets + r ))
    # Per kill mode: "crash mode M: R rounds, A acknowledged saves, 0 lost, 0 failed opens,
    # C unreported saves found committed, B browser resets, F file-system losses, X aborted saves, T ms".
    while read -r mode mr ma mc mb mx mt; do
        [ -n "${m_rounds[$mode]+x}" ] || { order+=("$mode"); m_rounds[$mode]=0 m_acked[$mode]=0 m_committed[$mode]=0 m_resets[$mode]=0 m_aborted[$mode]=0 m_ms[$mode]=0; }
        m_rounds[$mode]=$(( m_rounds[$mode] + mr )); m_acked[$mode]=$(( m_acked[$mode] + ma ))
        m_committed[$mode]=$(( m_committed[$mode] + mc )); m_resets[$mode]=$(( m_resets[$mode] + mb ))
        m_aborted[$mode]=$(( m_aborted[$mode] + mx )); m_ms[$mode]=$(( m_ms[$mode] + mt ))
    done < <(sed -nE 's/.*crash mode ([a-z-]+): ([0-9]+) rounds, ([0-9]+) acknowledged saves, 0 lost, 0 failed opens, ([0-9]+) unreported saves found committed, ([0-9]+) browser resets, [0-9]+ file-system losses, ([0-9]+) aborted saves, ([0-9]+) ms.*/\1 \2 \3 \4 \5 \6 \7/p' "$log")
    while read -r x y z w; do
        ab_before=$(( ab_before + x )); ab_part=$(( ab_part + y )); ab_after=$(( ab_after + z )); ab_retried=$(( ab_retried + w ))
    done < <(sed -nE 's/.*crash aborts: ([0-9]+) before any request of the save succeeded, ([0-9]+) part way, ([0-9]+) after its last request.*; ([0-9]+) saved again.*/\1 \2 \3 \4/p' "$log")
    done_rounds=$(( done_rounds + n ))
    b=$(( b + 1 ))
done
echo
printf '%-17s %7s %12s %5s %12s %15s %14s %13s %8s\n' mode rounds acknowledged lost failed-opens browser-resets found-committed aborted-saves seconds
for mode in "${order[@]}"; do
    printf '%-17s %7d %12d %5d %12d %15d %14d %13d %8d\n' "$mode" "${m_rounds[$mode]}" "${m_acked[$mode]}" 0 0 "${m_resets[$mode]}" "${m_committed[$mode]}" "${m_aborted[$mode]}" $(( m_ms[$mode] / 1000 ))
done
if [ -n "${m_rounds[abort-commit]+x}" ]; then
    echo "aborted commits: $ab_before before any request of the save succeeded, $ab_part part way, $ab_after after its last request (before the commit); $ab_retried saved again successfully after the abort"
fi
echo "crash test: $rounds rounds (modes $modes) in $(( $(date +%s) - started )) s: $acked acknowledged saves, 0 lost, 0 failed opens, $resets browser resets, $committed unacknowledged saves found committed whole (seeds $seed..$(( seed + rounds - 1 )))"
