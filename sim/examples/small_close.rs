//! A target for a profiler and for scripts/perf.sh: `small_close [RUNS]`
//! runs the reference small close RUNS times (default 1; each run in the
//! buffers of the last, `World::renew`; `small_close fresh RUNS` builds a new
//! world per run), `small_close bulk
//! BYTES` one bulk transfer, `small_close timer RUNS` the read-timeout
//! scenario RUNS times; each prints its events (and segments) per run, and
//! the seconds the runs took (process start and exit excluded). E.g.
//! `valgrind --tool=callgrind target/release/examples/small_close 10000`, or
//! `--tool=dhat` to count allocations per run or per segment.

use sim::{examples, World, WorldSpec};
use std::sync::Arc;
use std::time::Instant;

fn number(arg: Option<&String>, default: u64) -> u64 {
    arg.map_or(default, |a| a.parse().expect("a number"))
}

/// Runs `spec` `runs` times, each in the buffers of the last
/// (`World::renew`), or each in a new world if `fresh`; prints the events
/// per run and the seconds.
fn repeat(what: &str, spec: Arc<WorldSpec>, runs: u64, fresh: bool) {
    let start = Instant::now();
    let mut events = 0;
    let mut world = World::new(spec.clone(), false);
    for i in 0..runs {
        events += if fresh {
            World::new(spec.clone(), false).run().events
        } else {
            if i > 0 {
                world.renew(spec.clone(), false);
            }
            world.run().events
        };
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{runs} runs, {} events per run, {secs:.6} s ({what})",
        events / runs.max(1)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bulk") => {
            let bytes = number(args.get(1), 10_000_000);
            let start = Instant::now();
            let v = World::new(examples::bulk(bytes), false).run();
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(v.connections[0].directions[0].read, bytes);
            println!(
                "bulk {bytes} bytes: {} events, {} segments, {secs:.6} s",
                v.events, v.segments_sent
            );
        }
        Some("timer") => repeat(
            "timer",
            examples::read_timeout(),
            number(args.get(1), 1),
            false,
        ),
        Some("fresh") => repeat(
            "small close, a new world per run",
            examples::small_close(false),
            number(args.get(1), 1),
            true,
        ),
        _ => repeat(
            "small close",
            examples::small_close(false),
            number(args.first(), 1),
            false,
        ),
    }
}
