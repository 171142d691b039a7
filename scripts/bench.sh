#!/usr/bin/env bash
# Measures tcpsim's speed and prints a Markdown table: the small close
# (runs/s, and instructions and allocations per run with valgrind), bulk
# transfers (events/s) and the explorer (distinct states/s, CPU seconds, peak
# memory) on the close matrix of scenarios/explore-close.toml.
#
#   scripts/bench.sh [REPEATS]     (default 5; medians over the repeats)
#
# This machine is shared: single figures are noisy, so each figure is the
# median of REPEATS whole-process runs, and CPU time is reported beside wall
# time. Set VALGRIND=0 to skip the instruction and allocation counts.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
cargo build --release -q --bin tcpsim -p tcpsim
cargo build --release -q -p tcpsim-sim --example small_close
tcpsim=target/release/tcpsim
probe=target/release/examples/small_close
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Wall seconds of one command, and its user+sys seconds, appended to $1.
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$@" >/dev/null 2>&1
  cat "$tmp/t" >>"$out"
}

small_runs=300000
for _ in $(seq "$repeats"); do timed "$tmp/small" "$probe" "$small_runs"; done
small_s=$(awk '{print $1}' "$tmp/small" | median)
small_rate=$(awk -v n="$small_runs" -v s="$small_s" 'BEGIN {printf "%.0f", n / s}')

bulk_bytes=100000000
bulk_events=$("$probe" bulk "$bulk_bytes" | awk '{print $4}')
for _ in $(seq "$repeats"); do timed "$tmp/bulk" "$probe" bulk "$bulk_bytes"; done
bulk_s=$(awk '{print $1}' "$tmp/bulk" | median)
bulk_rate=$(awk -v n="$bulk_events" -v s="$bulk_s" 'BEGIN {printf "%.0f", n / s}')

explore=("$tcpsim" explore scenarios/explore-close.toml
  --calls close,shutdown-wr,shutdown-rd,shutdown-rdwr,linger-off,linger0,linger1,nonblocking,exit,read-all,write
  --max-calls 3 --max-writes 2 --losses 1 --reorders 1 --personalities linux,linux
  --max-states 300000 --out "$tmp/witnesses")
for _ in $(seq "$repeats"); do timed "$tmp/explore" "${explore[@]}"; done
ex_s=$(awk '{print $1}' "$tmp/explore" | median)
ex_cpu=$(awk '{print $2 + $3}' "$tmp/explore" | median)
ex_mem=$(awk '{print $4}' "$tmp/explore" | median)

echo "| what | figure |"
echo "| --- | --- |"
echo "| small close, runs/s (one core, median of $repeats x $small_runs runs) | $small_rate |"
echo "| bulk $((bulk_bytes / 1000000)) MB, events/s ($bulk_events events) | $bulk_rate |"
echo "| explore close matrix, 300,000 states: wall s (median) | $ex_s |"
echo "| explore, CPU s (user+sys, both threads) | $ex_cpu |"
echo "| explore, distinct states per CPU second | $(awk -v c="$ex_cpu" 'BEGIN {printf "%.0f", 300000 / c}') |"
echo "| explore, peak memory (MB) | $((ex_mem / 1024)) |"
if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  runs=10000
  ir=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$probe" "$runs" 2>&1 |
    awk '/refs:/ {gsub(",", "", $NF); print $NF}')
  events=$("$probe" 1 | awk '{print $3}')
  allocs=$(valgrind --tool=dhat --dhat-out-file="$tmp/dhat" "$probe" 1000 2>&1 |
    awk '/Total:/ {gsub(",", "", $(NF-1)); print $(NF-1)}')
  echo "| small close, instructions per run (callgrind) | $((ir / runs)) |"
  echo "| small close, instructions per event ($events events) | $((ir / runs / events)) |"
  echo "| small close, allocations per run (dhat) | $((allocs / 1000)) |"
fi
