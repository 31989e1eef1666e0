#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 120), starting from fuzz/seeds and the
# corpus of real bodies the decoders' tests read (crates/*/tests/corpus, fixtures):
#   cargo install cargo-fuzz    # once; it builds with the nightly toolchain
#   bash fuzz/run.sh [SECONDS]
# Each target's log is fuzz/artifacts/<target>.log; a crash stops the run, prints the end of
# the log and leaves the crashing input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
mkdir -p fuzz/artifacts
# The real bodies each target reads, where the tests keep them (not copied under fuzz/seeds).
real_bodies() {
    case "$1" in
        ozon_postings) echo crates/ozon/tests/corpus crates/ozon/tests/fixtures ;;
        ozon_push) echo crates/ozon/tests/fixtures ;;
        seventeen_track_*|cdek_order) echo crates/carriers/tests/corpus ;;
    esac
}
for target in $(cargo +nightly fuzz list); do
    mkdir -p "fuzz/corpus/$target" "fuzz/seeds/$target"
    log="fuzz/artifacts/$target.log"
    # shellcheck disable=SC2046 # one directory per word
    if cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        $(real_bodies "$target") -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
        echo "$target: ${runs:-?} runs in $seconds s, no crash"
    else
        tail -40 "$log"
        echo "$target: CRASH (see $log)"
        exit 1
    fi
done
