//! A target for a profiler: `small_close [RUNS]` runs the reference small
//! close RUNS times (default 1), `small_close bulk BYTES` one bulk transfer;
//! each prints its events (and segments) per run. E.g.
//! `valgrind --tool=callgrind target/release/examples/small_close 10000`, or
//! `--tool=dhat` to count allocations per run or per segment.

use sim::{examples, World};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bulk") {
        let bytes: u64 = args
            .get(1)
            .map_or(10_000_000, |a| a.parse().expect("bytes"));
        let v = World::new(examples::bulk(bytes), false).run();
        println!(
            "bulk {bytes} bytes: {} events, {} segments",
            v.events, v.segments_sent
        );
        return;
    }
    let runs: u64 = args
        .first()
        .map_or(1, |a| a.parse().expect("a number of runs"));
    let spec = examples::small_close(false);
    let mut events = 0;
    for _ in 0..runs {
        events += World::new(spec.clone(), false).run().events;
    }
    println!("{runs} runs, {} events per run", events / runs.max(1));
}
