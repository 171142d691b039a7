//! Engine benchmarks, one world per iteration: the small close (runs and
//! events per second), a 100-step exchange and exchanges of 4 to 4,000
//! steps, a 10 MB transfer over a link with 1 % loss, and bulk transfers of
//! 1 to 100 MB (events per second).
//! `cargo bench --bench engine`; `scripts/bench.sh` runs every bench and
//! writes the table (the 10 GB transfer is a whole process there: its time
//! and peak memory are the figures, not a criterion sample).

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scenario::Overrides;
use sim::{examples, World, WorldSpec};
use std::path::Path;
use std::sync::Arc;

/// A scenario written in the step language, resolved into a world spec
/// whose run ends cleanly (a bench of a run that went wrong measures nothing).
fn resolved(name: &str, text: &str) -> Arc<WorldSpec> {
    let spec = match scenario::from_text(name, text, Path::new("."), &Overrides::default()) {
        Ok(s) => s.spec,
        Err(d) => panic!("{name}: {}", d[0].render(false)),
    };
    let v = World::new(spec.clone(), false).run();
    let text = sim::report::verdict_text(&spec, &v);
    assert_eq!(v.outcome, sim::Outcome::Clean, "{name}: {text}");
    assert!(v.stuck.is_empty(), "{name}: {text}");
    spec
}

/// Two linux hosts: the server accepts `s`, the client connects `c`; then
/// `rounds` request/response pairs (four steps each: write, read, write,
/// read) and both close.
fn exchange_text(rounds: usize, network: &str) -> String {
    let mut steps = vec![
        "\"0 server listen l 80\"".to_string(),
        "\"- server accept l as s\"".into(),
        "\"1ms client connect c server:80\"".into(),
    ];
    for _ in 0..rounds {
        steps.push("\"- client write c 100\"".into());
        steps.push("\"- server read s 100\"".into());
        steps.push("\"- server write s 200\"".into());
        steps.push("\"- client read c 200\"".into());
    }
    steps.push("\"- client close c\"".into());
    steps.push("\"- server close s\"".into());
    format!(
        "[hosts.client]\npersonality = \"linux\"\n[hosts.server]\npersonality = \"linux\"\n\
         {network}\n[script]\nsteps = [\n{}\n]\n",
        steps.join(",\n")
    )
}

/// A one-way transfer of `bytes` over a link losing `loss`, read to EOF.
fn lossy_bulk_text(bytes: u64, loss: &str) -> String {
    format!(
        "[scenario]\nseed = 1\n[hosts.client]\npersonality = \"linux\"\n\
         [hosts.server]\npersonality = \"linux\"\n\
         [network]\ndelay = \"1ms\"\nloss = \"{loss}\"\n[script]\nsteps = [\n\
         \"0 server listen l 80\", \"- server accept l as s\", \"- server read s eof = {bytes}\",\n\
         \"- server close s\", \"1ms client connect c server:80\",\n\
         \"- client write c {bytes} = {bytes}\", \"- client close c\"]\n"
    )
}

fn one_world(c: &mut Criterion, group: &str, spec: &Arc<WorldSpec>, samples: usize) {
    let v = World::new(spec.clone(), false).run();
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.throughput(Throughput::Elements(1));
    g.bench_function("runs", |b| b.iter(|| World::new(spec.clone(), false).run()));
    g.throughput(Throughput::Elements(v.events));
    g.bench_function("events", |b| {
        b.iter(|| World::new(spec.clone(), false).run())
    });
    g.finish();
}

fn small_close(c: &mut Criterion) {
    let spec = examples::small_close(false);
    one_world(c, "small-close", &spec, 100);
    // Run after run in one world's buffers (`World::renew`), as a caller
    // repeating a spec does: no world built or freed per run.
    let mut g = c.benchmark_group("small-close-renewed");
    g.sample_size(100);
    g.throughput(Throughput::Elements(1));
    let mut w = World::new(spec.clone(), false);
    g.bench_function("runs", |b| {
        b.iter(|| {
            w.renew(spec.clone(), false);
            w.run()
        })
    });
    g.finish();
}

fn exchange(c: &mut Criterion) {
    let spec = resolved("exchange-100", &exchange_text(25, ""));
    assert_eq!(
        spec.steps.len(),
        105,
        "3 set-up steps, 100 exchanged, 2 closes"
    );
    one_world(c, "exchange-100-steps", &spec, 50);
}

/// How a run's cost grows with its steps: exchanges of 4 to 4,000 steps.
fn exchange_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("exchange-by-steps");
    g.sample_size(10);
    for rounds in [1usize, 10, 100, 1000] {
        let spec = resolved("exchange", &exchange_text(rounds, ""));
        let steps = 4 * rounds as u64;
        g.throughput(Throughput::Elements(steps));
        g.bench_with_input(BenchmarkId::new("steps", steps), &spec, |b, spec| {
            b.iter(|| World::new(spec.clone(), false).run())
        });
    }
    g.finish();
}

fn lossy_bulk(c: &mut Criterion) {
    let spec = resolved("lossy-10MB", &lossy_bulk_text(10_000_000, "1%"));
    let v = World::new(spec.clone(), false).run();
    assert_eq!(v.connections[0].directions[0].read, 10_000_000);
    assert!(v.segments_dropped > 0, "the 1 % loss drops segments");
    one_world(c, "bulk-10MB-1pct-loss", &spec, 10);
}

/// Bulk transfers of 1 MB to 100 MB: events per second by bytes (the 10 GB
/// point is scripts/bench.sh's whole process).
fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulk-by-bytes");
    g.sample_size(10);
    for bytes in [1_000_000u64, 10_000_000, 100_000_000] {
        let spec = examples::bulk(bytes);
        let v = World::new(spec.clone(), false).run();
        assert_eq!(v.connections[0].directions[0].read, bytes);
        g.throughput(Throughput::Elements(v.events));
        g.bench_with_input(BenchmarkId::new("events", bytes), &spec, |b, spec| {
            b.iter(|| World::new(spec.clone(), false).run())
        });
    }
    g.finish();
}

criterion_group! {
    name = engine;
    config = common::config();
    targets = small_close, exchange, exchange_scaling, lossy_bulk, bulk
}
criterion_main!(engine);
