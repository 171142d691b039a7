//! Benchmarks of the tools built on the engine, one thread each (the
//! explorer runs on rayon's pool: `RAYON_NUM_THREADS=1`, as scripts/bench.sh
//! sets, makes it one core): fuzz cases per second, explored distinct states
//! per second on the close matrix, and parsing plus resolving a scenario of
//! 10,000 steps. `cargo bench --bench tools`.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use proptest::strategy::ValueTree;
use scenario::Overrides;
use std::path::Path;
use tcpsim::explore::search::{explore, Config};
use tcpsim::explore::setup::{parse_items, setup, Bounds};
use tcpsim::fuzz::search::{case_tree, run_case, strategy_for};
use tcpsim::fuzz::{GenConfig, Property, Shard};

/// The fuzzer's first `CASES` cases of seed 1 (all five personalities, the
/// default properties), run one after the other.
fn fuzz(c: &mut Criterion) {
    const CASES: u64 = 200;
    let pool = model::Personality::BUILTIN
        .iter()
        .map(|s| s.to_string())
        .collect();
    let props = Property::DEFAULT.to_vec();
    let strategy = strategy_for(&props, &GenConfig::new(pool));
    let cases: Vec<_> = (0..CASES)
        .map(|i| case_tree(&strategy, 1, i).current())
        .collect();
    let mut g = c.benchmark_group("fuzz");
    g.sample_size(10);
    g.throughput(Throughput::Elements(CASES));
    g.bench_function("cases", |b| {
        b.iter(|| {
            for case in &cases {
                run_case(&props, case).expect("generated cases compile");
            }
        })
    });
    g.finish();
}

/// The close matrix of docs/performance.md with one call per side, and
/// six of its calls with two per side and no reorder, each explored
/// completely (depth-first: a bound reached would send it breadth-first,
/// and measure that instead).
fn explored(c: &mut Criterion) {
    let matrix = "close,shutdown-wr,shutdown-rd,shutdown-rdwr,linger-off,linger0,linger1,\
                  nonblocking,exit,read-all,write";
    let six = "close,shutdown-wr,linger0,nonblocking,read-all,write";
    let pair = ["linux".to_string(), "linux".to_string()];
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/explore-close.toml");
    let mut g = c.benchmark_group("explore-close-matrix");
    g.sample_size(10);
    // (menu, calls per side, reorders, the states it has)
    for (calls, max_calls, reorders, states) in
        [(matrix, 1u8, 1u8, 40_016u64), (six, 2, 0, 553_219)]
    {
        let calls: Vec<String> = calls.split(',').map(String::from).collect();
        let bounds = Bounds {
            items: parse_items(&calls, 1000).expect("the matrix's calls"),
            max_calls,
            max_writes: 2,
            max_bytes: 1000,
            losses: 1,
            dups: 0,
            reorders,
        };
        let setup = setup(&path, Some(&pair), &bounds).expect("the close matrix's start");
        let cfg = Config {
            bounds,
            check: None,
            max_states: 10_000_000,
            shard: Shard::default(),
            reduce: true,
        };
        let ex = explore(&setup, &cfg, &|_| {}).expect("explores");
        assert!(!ex.bound_hit, "explored completely");
        assert_eq!(ex.digests.len() as u64, states, "the states it has");
        g.throughput(Throughput::Elements(states));
        g.bench_with_input(BenchmarkId::new("complete", states), &cfg, |b, cfg| {
            b.iter(|| explore(&setup, cfg, &|_| {}).expect("explores"))
        });
    }
    g.finish();
}

/// A scenario of `steps` steps: a connection, then writes and reads of one
/// byte alternating, then both close.
fn long_scenario(steps: usize) -> String {
    let mut lines = vec![
        "\"0 server listen l 80\"".to_string(),
        "\"- server accept l as s\"".into(),
        "\"1ms client connect c server:80\"".into(),
    ];
    while lines.len() < steps - 2 {
        lines.push(if lines.len() % 2 == 1 {
            "\"- client write c 1 = 1\"".into()
        } else {
            "\"- server read s 1 = 1\"".into()
        });
    }
    lines.push("\"- client close c = 0\"".into());
    lines.push("\"- server close s = 0\"".into());
    format!(
        "[hosts.client]\npersonality = \"linux\"\n[hosts.server]\npersonality = \"linux\"\n\
         [script]\nsteps = [\n{}\n]\n",
        lines.join(",\n")
    )
}

fn parse(c: &mut Criterion) {
    const STEPS: usize = 10_000;
    let text = long_scenario(STEPS);
    let load = || scenario::from_text("long.toml", &text, Path::new("."), &Overrides::default());
    match load() {
        Ok(s) => assert_eq!(s.spec.steps.len(), STEPS),
        Err(d) => panic!("{}", d[0].render(false)),
    }
    let mut g = c.benchmark_group("parse-10000-steps");
    g.sample_size(20);
    g.throughput(Throughput::Elements(STEPS as u64));
    g.bench_function("steps", |b| b.iter(|| load().is_ok()));
    g.finish();
}

criterion_group! {
    name = tools;
    config = common::config();
    targets = fuzz, explored, parse
}
criterion_main!(tools);
