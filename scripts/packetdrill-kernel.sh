#!/bin/sh
# Every Linux side of the corpus (scenarios/, scenarios/kernel/,
# scenarios/personalities/) exported as a packetdrill script
# (`tcpsim run FILE --packetdrill-out OUT.pkt --packetdrill-side HOST`) and run
# on this host's kernel by google/packetdrill: what the model put on the wire
# against what the kernel does (docs/packetdrill.md, "Measured"). Not a suite
# test: CI has no packetdrill. Needs root (a network namespace per script).
#
#   sudo PACKETDRILL=/path/to/packetdrill scripts/packetdrill-kernel.sh
#   sudo scripts/packetdrill-kernel.sh ~/src/packetdrill   # builds it first
#
# The argument is a google/packetdrill checkout (or its bare git directory);
# it is copied and built (`./configure && make` in gtests/net/packetdrill,
# needs bison and flex) under OUT. Scripts run one at a time, each in a network
# namespace of its own, under a lock file (TCPSIM_KERNEL_LOCK, default
# /tmp/tcpsim-kernel.lock; name the one the kernel fuzzer and tests/real.rs
# take through the same variable): two at once on a loaded machine give timing
# errors of their own. Each may take TIMEOUT_S seconds (default 40); RTO,
# keepalive and FIN-WAIT-2 timers of minutes time out.
#
# Prints one line per side (pass, fail with packetdrill's first mismatch,
# timeout, or unexportable with the export's reason) and a summary count.
# OUT (default packetdrill-kernel-out) keeps each script and its output.
# ONLY=substring runs only the sides whose name (dir.scenario.host) contains it.
# Exit 0 when every exported side passed, 1 otherwise.
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-packetdrill-kernel-out}
TIMEOUT_S=${TIMEOUT_S:-40}
LOCK=${TCPSIM_KERNEL_LOCK:-/tmp/tcpsim-kernel.lock}
ONLY=${ONLY:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -z "${PACKETDRILL:-}" ]; then
    src=${1:?"usage: PACKETDRILL=path $0, or $0 PACKETDRILL_CHECKOUT"}
    rm -rf "$OUT/packetdrill-src"
    mkdir -p "$OUT/packetdrill-src"
    if [ -d "$src/gtests" ]; then
        cp -R "$src/." "$OUT/packetdrill-src"
    else
        # A bare git directory (a mirror): its newest commit.
        git --git-dir="$src" archive HEAD | tar -x -C "$OUT/packetdrill-src"
    fi
    (cd "$OUT/packetdrill-src/gtests/net/packetdrill" && ./configure >/dev/null && make -s >/dev/null)
    PACKETDRILL=$OUT/packetdrill-src/gtests/net/packetdrill/packetdrill
fi
PACKETDRILL=$(cd "$(dirname "$PACKETDRILL")" && pwd)/$(basename "$PACKETDRILL")
[ -x "$PACKETDRILL" ] || { echo "error: $PACKETDRILL is not an executable" >&2; exit 2; }

TCPSIM=${TCPSIM:-}
if [ -z "$TCPSIM" ]; then
    cargo build --release --quiet --bin tcpsim
    TCPSIM=target/release/tcpsim
fi

# The hosts of a scenario file that run the `linux` personality, one a line.
linux_hosts() {
    awk '/^\[hosts\.[^].]+\]$/ { host = substr($0, 8, length($0) - 8); next }
         /^\[/ { host = "" }
         host != "" && /^personality *= *"linux"/ { print host }' "$1"
}

pass=0 fail=0 timeout=0 unexportable=0
for dir in scenarios scenarios/kernel scenarios/personalities; do
    for file in "$dir"/*.toml; do
        for host in $(linux_hosts "$file"); do
            name=$(basename "$dir").$(basename "$file" .toml).$host
            case $name in *"$ONLY"*) ;; *) continue ;; esac
            pkt=$OUT/$name.pkt
            if ! "$TCPSIM" run "$file" --packetdrill-out "$pkt" --packetdrill-side "$host" \
                >/dev/null 2>"$OUT/$name.export.txt"; then
                unexportable=$((unexportable + 1))
                echo "unexportable $name: $(head -1 "$OUT/$name.export.txt" | sed 's/.*script: //')"
                continue
            fi
            rc=0
            flock "$LOCK" timeout "$TIMEOUT_S" unshare -n \
                sh -c 'ip link set lo up && exec "$1" "$2"' sh "$PACKETDRILL" "$pkt" \
                >"$OUT/$name.txt" 2>&1 || rc=$?
            case $rc in
                0) pass=$((pass + 1)); echo "pass $name" ;;
                124) timeout=$((timeout + 1)); echo "timeout $name (${TIMEOUT_S} s)" ;;
                *) fail=$((fail + 1))
                   echo "fail $name: $(grep -m1 -E 'error|expected' "$OUT/$name.txt" | sed "s|^$pkt:||")" ;;
            esac
        done
    done
done
echo "$((pass + fail + timeout)) exported: $pass pass, $fail fail, $timeout timeout; $unexportable unexportable"
[ "$fail" -eq 0 ] && [ "$timeout" -eq 0 ]
