//! Engine benchmarks: whole small-close runs per second, and a bulk transfer
//! (segments per second). `cargo bench --bench engine`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sim::{examples, World};

fn benches(c: &mut Criterion) {
    let spec = examples::small_close(false);
    let events = World::new(spec.clone(), false).run().events;
    let mut g = c.benchmark_group("small-close");
    g.throughput(Throughput::Elements(1));
    g.bench_function("runs", |b| b.iter(|| World::new(spec.clone(), false).run()));
    g.throughput(Throughput::Elements(events));
    g.bench_function("events", |b| {
        b.iter(|| World::new(spec.clone(), false).run())
    });
    g.finish();

    let spec = examples::bulk(100_000_000);
    let v = World::new(spec.clone(), false).run();
    assert_eq!(v.connections[0].directions[0].read, 100_000_000);
    let mut g = c.benchmark_group("bulk-100MB");
    g.sample_size(10);
    g.throughput(Throughput::Elements(v.segments_sent));
    g.bench_function("segments", |b| {
        b.iter(|| World::new(spec.clone(), false).run())
    });
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
