#!/bin/sh
# Runs each coverage-guided fuzz target of fuzz/ for SECONDS (default 600),
# one at a time on one core (-jobs=1), and prints libFuzzer's last status
# line for each (executions, cov, ft, corpus, exec/s). Crashes go to
# fuzz/artifacts/TARGET/; logs to fuzz/logs/TARGET.log. Needs a nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). docs/limits.md#fuzzing.
set -eu
SECONDS_EACH=${1:-600}
TARGETS=${TARGETS:-"parse_bytes parse_corpus endpoint engine packetdrill"}
cd "$(dirname "$0")/../fuzz"
cargo +nightly fuzz build -O
BIN=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    # A crash stops libFuzzer: the script goes on to the next target.
    "$BIN/$t" -max_total_time="$SECONDS_EACH" -jobs=1 -workers=1 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" "corpus/$t" >"logs/$t.log" 2>&1 || true
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
    crashes=$(ls "artifacts/$t" | wc -l)
    echo "$t: $last; crashes: $crashes"
done
