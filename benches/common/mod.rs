//! What every bench shares (a module, not a bench target: cargo finds bench
//! targets only as `benches/*.rs` and `benches/*/main.rs`).

use criterion::Criterion;
use std::time::Duration;

/// Criterion's settings for every bench: one second of warm-up, three of
/// measurement, so that `scripts/bench.sh` measures each bench alike.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
