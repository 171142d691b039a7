//! Engine benchmarks: whole small-close runs per second, and a bulk transfer
//! (segments per second). `cargo bench --bench engine`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::Personality;
use sim::{Action, SpecBuilder, World, WorldSpec};
use std::sync::Arc;

/// The reference small close: connect, 1000 bytes up, 500 down, server closes.
fn small_close() -> Arc<WorldSpec> {
    let mut b = SpecBuilder::new(1);
    b.host("client", Personality::builtin("linux").unwrap());
    b.host("server", Personality::builtin("linux").unwrap());
    let (l, c, s) = (b.slot("l"), b.slot("c"), b.slot("s"));
    b.at(
        0,
        "server",
        Action::Listen {
            sock: l,
            port: 80,
            backlog: 16,
        },
    );
    b.then(
        "server",
        Action::Accept {
            listener: l,
            sock: s,
        },
    );
    b.then("server", Action::Read { sock: s, max: 1000 });
    b.then(
        "server",
        Action::Write {
            sock: s,
            bytes: 500,
        },
    );
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            host: 1,
            port: 80,
        },
    );
    b.then(
        "client",
        Action::Write {
            sock: c,
            bytes: 1000,
        },
    );
    b.then("client", Action::ReadToEof { sock: c });
    b.then("client", Action::Close { sock: c });
    Arc::new(b.build())
}

fn bulk(bytes: u64) -> Arc<WorldSpec> {
    let mut b = SpecBuilder::new(1);
    b.host("client", Personality::builtin("linux").unwrap());
    b.host("server", Personality::builtin("linux").unwrap());
    let (l, c, s) = (b.slot("l"), b.slot("c"), b.slot("s"));
    b.at(
        0,
        "server",
        Action::Listen {
            sock: l,
            port: 80,
            backlog: 16,
        },
    );
    b.then(
        "server",
        Action::Accept {
            listener: l,
            sock: s,
        },
    );
    b.then("server", Action::ReadToEof { sock: s });
    b.then("server", Action::Close { sock: s });
    b.at(
        1,
        "client",
        Action::Connect {
            sock: c,
            host: 1,
            port: 80,
        },
    );
    b.then("client", Action::Write { sock: c, bytes });
    b.then("client", Action::Close { sock: c });
    Arc::new(b.build())
}

fn benches(c: &mut Criterion) {
    let spec = small_close();
    let events = World::new(spec.clone(), false).run().events;
    let mut g = c.benchmark_group("small-close");
    g.throughput(Throughput::Elements(1));
    g.bench_function("runs", |b| b.iter(|| World::new(spec.clone(), false).run()));
    g.throughput(Throughput::Elements(events));
    g.bench_function("events", |b| {
        b.iter(|| World::new(spec.clone(), false).run())
    });
    g.finish();

    let spec = bulk(100_000_000);
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
