//! tcpsim's deterministic world: virtual time, a seeded network, hosts running
//! scripted applications over the TCP model, a trace and a verdict.
//!
//! Build a [`WorldSpec`] (or use [`SpecBuilder`]), make a [`World`], `run` it,
//! read the [`Verdict`]. Same spec and seed ⇒ byte-identical trace.

pub mod app;
pub mod examples;
pub mod explore;
pub mod invariants;
pub mod net;
pub mod raw;
pub mod report;
pub mod rng;
pub mod segmatch;
pub mod spec;
pub mod trace;
pub mod verdict;
pub mod world;

pub use net::{DropRule, FaultRule, Filter, Link, Partition};
pub use rng::Ratio;
pub use spec::{Action, At, Expect, Slots, SpecBuilder, WorldSpec};
pub use trace::{Entry, What};
pub use verdict::{EndReason, Outcome, Verdict};
pub use world::World;

use std::sync::Arc;

/// Runs a spec to the end without recording the trace.
pub fn run_verdict(spec: &Arc<WorldSpec>) -> Verdict {
    World::new(Arc::clone(spec), false).run()
}
