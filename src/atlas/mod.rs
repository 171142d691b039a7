//! The teardown atlas: for each personality, each state an application can
//! close from, each teardown call and each data condition, what happens —
//! produced by running the model, one scenario per cell (docs/atlas.md).
//!
//! - `cell`: the axes (states, calls, data conditions), the cells a state
//!   makes impossible, and each cell's scenario, written in the step language
//!   so `tcpsim run` and `tcpsim real` replay it as it stands;
//! - `observe`: what a cell shows, read from a trace of either producer (the
//!   simulator's or the kernel's), so one function serves the model and the
//!   check against the kernel;
//! - `blame`: the knobs that decide a cell, by setting each to the values the
//!   other stacks give it (the machinery of `tcpsim compare`);
//! - `render`: Markdown, text and JSON; the diff of two personalities;
//! - `kernel`: the `linux` column against this host's kernel.
//!
//! What the atlas simplifies: one peer stack (linux by default) on the other
//! end, a fixed 20 ms one-way delay, fixed sizes (1000 unread bytes, 30000
//! queued bytes, 100-byte writes by the peer afterwards). "Queued" data is
//! written 15 ms before the call: the first initial congestion window of it is
//! in flight, the rest not yet sent.

pub mod blame;
pub mod cell;
pub mod kernel;
pub mod observe;
pub mod render;

pub use cell::{Call, Data, Key, Setting};
pub use observe::Obs;

use blame::Decider;
use model::Personality;
use rayon::prelude::*;
use serde::Serialize;

/// One cell: a personality's behaviour for one state, call and data condition.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Cell {
    pub personality: String,
    #[serde(flatten)]
    pub key: Key,
    /// What the model does; or why the combination cannot happen.
    #[serde(flatten)]
    pub body: Body,
}

/// A cell's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Body {
    /// The state cannot hold this data condition (or this call): why.
    Impossible { why: String },
    /// The scenario did not reach the state at the call: what it reached.
    NotReached { state: String },
    /// What the model did, and the knobs that decide it.
    Ran {
        obs: Box<Obs>,
        decided_by: Vec<Decider>,
    },
}

/// The whole atlas.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Atlas {
    pub peer: String,
    pub personalities: Vec<String>,
    pub cells: Vec<Cell>,
}

impl Atlas {
    /// The cell of a personality for a key.
    pub fn cell(&self, personality: &str, key: &Key) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.personality == personality && c.key == *key)
    }
}

/// Runs one cell of personality `p` against `peer`; with `alts` (from
/// [`blame::alternatives`]), also the knobs that decide it.
pub fn run_cell(
    p: &Personality,
    peer: &Personality,
    key: Key,
    alts: Option<&[(&'static str, Vec<String>)]>,
) -> Cell {
    let body = match cell::impossible(&key) {
        Some(why) => Body::Impossible { why: why.into() },
        None => {
            let base = cell::scenario(&p.name, &peer.name, &key).spec;
            let spec = cell::with_personalities(&base, p, peer);
            match observe::simulate(&spec, &key) {
                Err(state) => Body::NotReached { state },
                Ok(obs) => Body::Ran {
                    decided_by: alts.map_or_else(Vec::new, |alts| {
                        blame::deciders((p, peer), alts, &base, &key, &obs)
                    }),
                    obs: Box::new(obs),
                },
            }
        }
    };
    Cell {
        personality: p.name.to_string(),
        key,
        body,
    }
}

/// Every cell of the personalities `ps` (in order), against `peer`, with the
/// knobs that decide them. Cells run in parallel; the result is in key
/// order, so it does not depend on how they were scheduled.
pub fn atlas(ps: &[Personality], peer: &Personality) -> Atlas {
    let alts: Vec<_> = ps.iter().map(blame::alternatives).collect();
    let jobs: Vec<(usize, Key)> = (0..ps.len())
        .flat_map(|i| Key::all().into_iter().map(move |k| (i, k)))
        .collect();
    let cells = jobs
        .into_par_iter()
        .map(|(i, k)| run_cell(&ps[i], peer, k, Some(&alts[i])))
        .collect();
    Atlas {
        peer: peer.name.to_string(),
        personalities: ps.iter().map(|p| p.name.to_string()).collect(),
        cells,
    }
}
