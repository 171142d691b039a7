//! Runs the reference small close N times (default 1) and prints the
//! events per run a target for a profiler
//! (`valgrind --tool=callgrind` or `--tool=dhat`:
//!  `target/release/examples/small_close 1000`).

use sim::{examples, World};
fn main() {
    let runs: u64 = std::env::args()
        .nth(1)
        .map_or(1, |a| a.parse().expect("a number of runs"));
    let spec = examples::small_close(false);
    let mut events = 0;
    for _ in 0..runs {
        events += World::new(spec.clone(), false).run().events;
    }
    println!("{runs} runs, {} events per run", events / runs.max(1));
}
