#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 120), starting from fuzz/seeds:
#   cargo install cargo-fuzz    # once; it builds with the nightly toolchain
#   bash fuzz/run.sh [SECONDS]
# Each target's log is fuzz/artifacts/<target>.log; a crash stops the run, prints the end of
# the log and leaves the crashing input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
mkdir -p fuzz/artifacts
for target in $(cargo +nightly fuzz list); do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/artifacts/$target.log"
    if cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
        echo "$target: ${runs:-?} runs in $seconds s, no crash"
    else
        tail -40 "$log"
        echo "$target: CRASH (see $log)"
        exit 1
    fi
done
