//! What the fuzz targets share: scenario text through the whole pipeline
//! (parse, resolve, render every error, run with every invariant checked),
//! structure-aware inputs (`corpus` mutates the scenarios of scenarios/,
//! `gen` writes whole scenarios from `arbitrary` choices), and the endpoint
//! harness (`endpoint`: two hosts, any segment between them).
//!
//! A failure is a panic, which libFuzzer reports as a crash with its input;
//! `tests/fuzz_regressions.rs` in the main crate replays every saved one.

pub mod corpus;
pub mod endpoint;
pub mod gen;

use scenario::Overrides;
use sim::invariants::run_checked;
use sim::World;
use std::path::Path;
use std::sync::Arc;

/// At most this many events per run: a fuzz input is one short run (a huge
/// write or a far timer ends at the budget, which is itself a verdict).
pub const EVENTS_MAX: u64 = 20_000;

/// Parses and resolves `text`; renders every error (the located error must
/// never panic either); runs a scenario that loads, checking every
/// invariant after every event, twice, with the same state digest.
pub fn run_text(text: &str) {
    // To turn a crash into a scenario file for the suite's regressions.
    if std::env::var_os("TCPSIM_FUZZ_SHOW").is_some() {
        eprintln!("{text}");
    }
    let loaded = scenario::from_text("fuzz.toml", text, Path::new("."), &Overrides::default());
    let sc = match loaded {
        Ok(sc) => sc,
        Err(diags) => {
            assert!(!diags.is_empty(), "a refused scenario says why");
            for d in &diags {
                let shown = d.render(false);
                assert!(shown.starts_with("error"), "{shown}");
            }
            return;
        }
    };
    let mut spec = (*sc.spec).clone();
    spec.limits.max_events = spec.limits.max_events.min(EVENTS_MAX);
    run_spec(Arc::new(spec));
}

/// Runs a spec with every invariant checked, twice: the same digest.
pub fn run_spec(spec: Arc<sim::WorldSpec>) {
    let mut w = World::new(Arc::clone(&spec), true);
    if let Err(b) = run_checked(&mut w) {
        panic!("invariant broken at {} ns: {}", w.now.as_ns(), b.message);
    }
    let mut again = World::new(spec, false);
    let v = again.run();
    assert_eq!(v, w.verdict(), "two runs, two verdicts");
    assert_eq!(again.state_hash(), w.state_hash(), "two runs, two states");
}
