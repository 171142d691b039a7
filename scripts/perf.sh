#!/usr/bin/env bash
# tcpsim side by side with its peers: the same small close, bulk transfer
# and (kernel only) timer scenario on tcpsim, smoltcp, turmoil and this
# host's kernel over loopback (perf/). Each round runs tcpsim and every peer
# once, alternating whole processes; each figure is the median over ROUNDS of
# tcpsim's rate divided by the peer's in the same round (this machine is
# shared: ratios of neighbours hold, single figures do not).
#
#   scripts/perf.sh [ROUNDS]      (default 7)
#
# Prints a Markdown table and writes it to target/bench/perf.md. The kernel
# runs hold the file TCPSIM_KERNEL_LOCK names, if set (kernel tests flake
# when two run at once; `tcpsim fuzz --property agrees-with-kernel` takes it
# too).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
cargo build --release -q -p tcpsim-sim --example small_close
cargo build --release -q --manifest-path perf/Cargo.toml
probe=target/release/examples/small_close
peer=perf/target/release/tcpsim-perf
mkdir -p target/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lock=${TCPSIM_KERNEL_LOCK:-}
kernel() { if [ -n "$lock" ]; then flock "$lock" "$peer" kernel "$@"; else "$peer" kernel "$@"; fi; }

close_runs=${CLOSE_RUNS:-100000}
bulk_bytes=${BULK_BYTES:-100000000}
# The kernel and turmoil are slower: fewer runs, the same rate per run.
slow_runs=2000
timer_runs=5

# Seconds of tcpsim's runs (the probe prints them, process start excluded).
sim_secs() { "$probe" "$@" | sed -E 's/.* ([0-9.]+) s.*/\1/'; }
# The peer's seconds are its 4th field; smoltcp's bulk adds its packets.
for r in $(seq "$rounds"); do
  s=$(sim_secs "$close_runs")
  sm=$("$peer" smoltcp close "$close_runs" | awk '{print $4}')
  tu=$("$peer" turmoil close "$slow_runs" | awk '{print $4}')
  ke=$(kernel close "$slow_runs" | awk '{print $4}')
  awk -v s="$s" -v n="$close_runs" -v sm="$sm" -v tu="$tu" -v ke="$ke" -v m="$slow_runs" \
    'BEGIN {t = n / s; print t, t / (n / sm), t / (m / tu), t / (m / ke)}' >>"$tmp/close"

  line=$("$probe" bulk "$bulk_bytes")
  segs=$(echo "$line" | awk '{print $6}')
  s=$(echo "$line" | sed -E 's/.* ([0-9.]+) s$/\1/')
  read -r sm packets < <("$peer" smoltcp bulk "$bulk_bytes" | awk '{print $4, $5}')
  tu=$("$peer" turmoil bulk "$bulk_bytes" | awk '{print $4}')
  ke=$(kernel bulk "$bulk_bytes" | awk '{print $4}')
  # Packets/s against smoltcp (both send MSS-sized segments); bytes/s
  # against turmoil (which has no segments) and the kernel (TSO, 64 KB).
  awk -v s="$s" -v segs="$segs" -v sm="$sm" -v p="$packets" -v tu="$tu" -v ke="$ke" \
    'BEGIN {print segs / s, (segs / s) / (p / sm), tu / s, ke / s}' >>"$tmp/bulk"

  s=$(sim_secs timer "$close_runs")
  ke=$(kernel timer "$timer_runs" | awk '{print $4}')
  awk -v s="$s" -v n="$close_runs" -v ke="$ke" -v m="$timer_runs" \
    'BEGIN {print (n / s) / (m / ke)}' >>"$tmp/timer"
  echo "round $r/$rounds done" >&2
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
{
  echo "| work | tcpsim rate | ÷ smoltcp 0.14 | ÷ turmoil 0.7 | ÷ kernel loopback |"
  echo "| --- | --- | --- | --- | --- |"
  printf '| small close (runs/s) | %.0f | %.2f | %.1f | %.1f |\n' \
    "$(col "$tmp/close" 1)" "$(col "$tmp/close" 2)" "$(col "$tmp/close" 3)" "$(col "$tmp/close" 4)"
  printf '| bulk %d MB (segments/s; ÷ smoltcp packets/s, ÷ others by time) | %.0f | %.2f | %.2f | %.2f |\n' \
    "$((bulk_bytes / 1000000))" "$(col "$tmp/bulk" 1)" "$(col "$tmp/bulk" 2)" "$(col "$tmp/bulk" 3)" "$(col "$tmp/bulk" 4)"
  printf '| read timeout 200 ms (runs/s) | | | | %.0f |\n' "$(col "$tmp/timer" 1)"
  echo
  echo "Medians of $rounds alternating rounds; each ratio is tcpsim's rate over the peer's in the same round."
} | tee target/bench/perf.md
