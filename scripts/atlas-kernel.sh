#!/usr/bin/env bash
# The whole `linux` column of the teardown atlas against this host's kernel:
# every possible cell (260) through `tcpsim real`'s delay line, about 1.5 s
# each (6–8 min). The suite checks a fixed slice (tests/atlas.rs); this is the
# rest. Needs root (network namespaces, packet capture). Exit 1 when a cell
# differs; docs/real-kernel.md records the last run's result.
#
#   sudo scripts/atlas-kernel.sh                 # text, one line per cell
#   sudo scripts/atlas-kernel.sh --format json   # the same as JSON
#   sudo scripts/atlas-kernel.sh --only closing/ # one state (a slug prefix ending in /)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin tcpsim
exec ./target/release/tcpsim atlas --kernel "$@"
