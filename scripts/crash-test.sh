#!/usr/bin/env bash
# The scaled-up Chromium crash test (issue 12): ROUNDS rounds (default 1000) of the SIGKILL
# crash test in tests/package/browser-persist.test.mjs. Each round starts headless Chromium on
# one profile, lets a writer save step after step into IndexedDB, kills the whole browser with
# SIGKILL at a random moment, reopens the profile and checks that the store opens and holds
# every acknowledged save (and in-flight saves whole or not at all). The test itself fails on
# any lost write or failed open, so a passing run means 0 of each.
#
# Rounds run in batches of QUIVER_CRASH_BATCH (default 100) because the test caps itself at
# 15 minutes; each batch uses a fresh profile and the seeds QUIVER_CRASH_SEED + round, so no
# round repeats another. CI runs the short version (20 rounds) inside `node --test`.
#
#   bash scripts/crash-test.sh [ROUNDS]      (needs pkg/: bash scripts/build-pkg.sh)
#
# Env: CHROMIUM (browser path, default /usr/bin/chromium), QUIVER_CRASH_SEED (first seed,
# default from the clock), QUIVER_CRASH_BATCH. Takes a few seconds per round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1000}
batch=${QUIVER_CRASH_BATCH:-100}
seed=${QUIVER_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
[ -f pkg/dist/node.js ] || bash scripts/build-pkg.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)
done_rounds=0 acked=0 committed=0 b=0
while [ "$done_rounds" -lt "$rounds" ]; do
    n=$(( rounds - done_rounds < batch ? rounds - done_rounds : batch ))
    s=$(( seed + done_rounds ))
    echo "== batch $b: $n rounds, QUIVER_CRASH_SEED=$s"
    if ! QUIVER_CRASH_ROUNDS=$n QUIVER_CRASH_SEED=$s \
        node --test --test-name-pattern='^crash' tests/package/browser-persist.test.mjs >"$log" 2>&1; then
        cat "$log"
        echo "crash test FAILED in batch $b (QUIVER_CRASH_ROUNDS=$n QUIVER_CRASH_SEED=$s)" >&2
        exit 1
    fi
    line=$(grep -o 'crash test: [0-9]* rounds, [0-9]* acknowledged saves, [0-9]* unreported saves found committed' "$log" | head -1)
    if [ -z "$line" ]; then
        cat "$log"
        echo "crash test: batch $b printed no summary (did the test run?)" >&2
        exit 1
    fi
    echo "   $line"
    read -r a c < <(echo "$line" | sed -E 's/.* ([0-9]+) acknowledged saves, ([0-9]+) unreported.*/\1 \2/')
    acked=$(( acked + a ))
    committed=$(( committed + c ))
    done_rounds=$(( done_rounds + n ))
    b=$(( b + 1 ))
done
echo "crash test: $rounds rounds (SIGKILL of the whole browser) in $(( $(date +%s) - started )) s: $acked acknowledged saves, 0 lost, 0 failed opens, $committed unacknowledged saves found committed whole (seeds $seed..$(( seed + rounds - 1 )))"
