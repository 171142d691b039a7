#!/bin/sh
# The differential fuzzer's long run: `tcpsim fuzz --property agrees-with-kernel`
# on network PROFILE (lan or loopback; default lan) in rounds of CASES cases (seeds SEED, SEED+1, ...) until MINUTES (default 60)
# have passed, each round's report in OUT/seed-N.txt and its shrunk
# counterexamples in OUT/seed-N/; at the end, every difference class with the
# number of cases that showed it, over all rounds. Rounds keep a killed run's
# results. Needs root (tcpsim real). Each kernel run's coordinator, delay
# line and workers run under SCHED_FIFO (real/src/run.rs, RT_PRIORITY), so a
# build beside it cannot make their wake-ups late; where real-time scheduling
# is not permitted tcpsim warns, and the workers would inherit a `nice`, so
# the script is not `nice`d (a run mostly waits: about 3% of one CPU). Set TCPSIM_KERNEL_LOCK to a
# lock file that other users of the kernel take too, so that kernel runs never
# overlap (docs/real-kernel.md, "A differential fuzzer").
set -eu
MINUTES=${MINUTES:-60}
PROFILE=${PROFILE:-lan}
CASES=${CASES:-100}
SEED=${SEED:-1}
OUT=${OUT:-fuzz-kernel-out}
TCPSIM=${TCPSIM:-target/release/tcpsim}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
end=$(( $(date +%s) + MINUTES * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
    # exit 1 means a difference was found: go on with the next round.
    "$TCPSIM" fuzz --property agrees-with-kernel --keep-going -q \
        --cases "$CASES" --seed "$SEED" --profile "$PROFILE" --out "$OUT/seed-$SEED" \
        >"$OUT/seed-$SEED.txt" 2>&1 || [ $? -eq 1 ]
    head -1 "$OUT/seed-$SEED.txt"
    SEED=$((SEED + 1))
done
echo
echo "difference classes over all rounds (cases, class):"
grep -h '^class ' "$OUT"/seed-*.txt | sed -E 's/^class [0-9]+: (.*) \(([0-9]+) cases?:.*/\2\t\1/' |
    awk -F'\t' '{n[$2] += $1} END {for (c in n) print n[c] "\t" c}' | sort -rn
grep -h '^fuzz agrees-with-kernel' "$OUT"/seed-*.txt |
    awk '{c += $3; for (i = 1; i < NF; i++) if ($i == "in") s += $(i + 1)}
        END {printf "%d cases in %.0f s: %.2f cases/s\n", c, s, c / s}'
