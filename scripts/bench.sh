#!/usr/bin/env bash
# Measures tcpsim's speed and writes the table of docs/performance.md:
#   - the criterion benches (benches/engine.rs, benches/tools.rs, one thread):
#     the small close, a 100-step exchange and exchanges of 4 to 4,000 steps,
#     10 MB over 1 % loss, bulk 1 to 100 MB, fuzz cases, explored states
#     (2,000 and 20,000), parsing a 10,000-step scenario;
#   - whole processes (medians of REPEATS): bulk 1 GB and 10 GB (time and
#     peak memory), the explorer on the close matrix at 100,000 and 300,000
#     states on one and two threads, the fuzzer on one and two threads;
#   - with valgrind (unless VALGRIND=0): instructions and allocations per
#     small close.
#
#   scripts/bench.sh [REPEATS]     (default 3)
#
# Writes target/bench/table.md (printed too) and target/bench/series.tsv,
# from which scripts/plots.py draws docs/perf/*.svg. This machine is shared:
# wall figures move with its load, instruction counts do not.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
out=target/bench
mkdir -p "$out"
cargo build --release -q --bin tcpsim -p tcpsim
cargo build --release -q -p tcpsim-sim --example small_close
tcpsim=target/release/tcpsim
probe=target/release/examples/small_close
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
extra=$out/extra.tsv
: >"$extra"

# Criterion, one thread for the explorer too (its rayon pool).
RAYON_NUM_THREADS=1 cargo bench -q --bench engine --bench tools >"$out/criterion.txt" 2>&1

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Runs a command REPEATS times; appends "wall user+sys peak_kb" lines to $1.
timed() {
  local file=$1; shift
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$@" >/dev/null 2>&1
    awk '{print $1, $2 + $3, $4}' "$tmp/t" >>"$file"
  done
}
# Appends "NAME X VALUE" to the extra figures: the median of column COL of FILE.
record() { # NAME X FILE COL
  printf '%s\t%s\t%s\n' "$1" "$2" "$(awk -v c="$4" '{print $c}' "$3" | median)" >>"$extra"
}

for bytes in 1000000000 10000000000; do
  events=$("$probe" bulk "$bytes" | awk '{print $4}')
  timed "$tmp/bulk$bytes" "$probe" bulk "$bytes"
  record bulk-wall-s "$bytes" "$tmp/bulk$bytes" 1
  record bulk-peak-kb "$bytes" "$tmp/bulk$bytes" 3
  printf 'bulk-events\t%s\t%s\n' "$bytes" "$events" >>"$extra"
done

matrix=(explore scenarios/explore-close.toml
  --calls close,shutdown-wr,shutdown-rd,shutdown-rdwr,linger-off,linger0,linger1,nonblocking,exit,read-all,write
  --max-calls 3 --max-writes 2 --losses 1 --reorders 1 --personalities linux,linux)
for states in 100000 300000; do
  for threads in 1 2; do
    f=$tmp/explore-$states-$threads
    timed "$f" "$tcpsim" "${matrix[@]}" --max-states "$states" --threads "$threads" --out "$tmp/w"
    record "explore-wall-s-t$threads" "$states" "$f" 1
    record "explore-cpu-s-t$threads" "$states" "$f" 2
    record "explore-peak-kb-t$threads" "$states" "$f" 3
  done
done

fuzz_cases=20000
for threads in 1 2; do
  f=$tmp/fuzz-$threads
  timed "$f" "$tcpsim" fuzz --cases "$fuzz_cases" --seed 1 --threads "$threads" --quiet
  record fuzz-wall-s "$threads" "$f" 1
  record fuzz-cpu-s "$threads" "$f" 2
done
printf 'fuzz-cases\t-\t%s\n' "$fuzz_cases" >>"$extra"

if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  runs=10000
  ir=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$probe" "$runs" 2>&1 |
    awk '/refs:/ {gsub(",", "", $NF); print $NF}')
  allocs=$(valgrind --tool=dhat --dhat-out-file="$tmp/dhat" "$probe" 1000 2>&1 |
    awk '/Total:/ {gsub(",", "", $(NF-1)); print $(NF-1)}')
  printf 'small-close-instructions\t%s\t%s\n' "$runs" "$ir" >>"$extra"
  printf 'small-close-events\t-\t%s\n' "$("$probe" 1 | awk '{print $3}')" >>"$extra"
  printf 'small-close-allocations\t1000\t%s\n' "$allocs" >>"$extra"
fi

python3 scripts/bench_report.py target/criterion "$extra" "$out"
cat "$out/table.md"
python3 scripts/plots.py "$out/series.tsv" docs/perf
