//! Where two runs first differ: their ladders (without windows) read side by
//! side as the worlds run, and for each two personalities that end
//! differently, the divergence and the knobs to blame.

use super::blame::{blame, Blame};
use super::cell::Cell;
use crate::cli::ScenarioOpts;
use crate::scenario::Scenario;
use model::Personality;
use rayon::prelude::*;
use serde::Serialize;
use sim::report::{entry_text, ms, Isns};
use sim::{World, WorldSpec};
use std::sync::Arc;

/// A divergence between two personalities in one host position.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Divergence {
    /// The host whose personality changes.
    pub host: String,
    pub a: String,
    pub b: String,
    /// The other host's personality in both runs.
    pub other: String,
    pub a_ends: String,
    pub b_ends: String,
    pub at_ms: String,
    pub a_entry: String,
    pub b_entry: String,
    /// The first difference in state changes, RSTs or discards.
    pub decisive_at_ms: String,
    pub a_decisive: String,
    pub b_decisive: String,
    /// The knobs that turn A's ending into B's.
    pub knobs: Blame,
    /// The two cells compared (indexes into `Comparison::cells`).
    #[serde(skip)]
    pub cells: [usize; 2],
}

/// An entry's text without the advertised window, which differs between
/// stacks from the first SYN on and says nothing about how a close ends.
pub(super) fn without_window(t: &str) -> String {
    let mut out = Vec::new();
    let mut words = t.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "win"
            && words
                .peek()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        {
            words.next();
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

/// Entries that decide how a close ends: state changes, RSTs, discards.
pub(super) fn decisive(e: &sim::Entry) -> bool {
    matches!(
        e.what,
        sim::What::Model {
            event: model::Event::State { .. }
                | model::Event::RstSent { .. }
                | model::Event::Discard { .. }
        }
    )
}

/// One ladder line of a run: time, text (without windows), and whether it is
/// `decisive`.
type Line = (model::Instant, String, bool);

/// The ladder lines of a run of `spec`, produced as the run goes: the world
/// steps only as far as the lines asked for, and holds no trace.
struct LadderLines {
    spec: Arc<WorldSpec>,
    world: World,
    isns: Isns,
    ready: std::collections::VecDeque<Line>,
}

impl LadderLines {
    fn new(spec: &Arc<WorldSpec>) -> LadderLines {
        LadderLines {
            spec: Arc::clone(spec),
            world: World::new(Arc::clone(spec), true),
            isns: Isns::default(),
            ready: Default::default(),
        }
    }
}

impl Iterator for LadderLines {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        loop {
            if let Some(l) = self.ready.pop_front() {
                return Some(l);
            }
            let spec = &self.spec;
            for e in self.world.drain_trace() {
                // Every entry goes through entry_text, which follows the ISNs.
                let Some(t) = entry_text(spec, &mut self.isns, &e) else {
                    continue;
                };
                let host = &spec.hosts[e.host as usize].name;
                let text = format!("[{host}] {}", without_window(&t));
                self.ready.push_back((e.t_ns, text, decisive(&e)));
            }
            if self.ready.is_empty() && !self.world.step() {
                return None;
            }
        }
    }
}

/// The first line (among those `keep` accepts) where two runs differ, as
/// (time, text a, text b); both runs stop there.
pub(super) fn first_divergence(
    a: &Arc<WorldSpec>,
    b: &Arc<WorldSpec>,
    keep: fn(&Line) -> bool,
) -> Option<(String, String, String)> {
    let mut xa = LadderLines::new(a).filter(keep);
    let mut xb = LadderLines::new(b).filter(keep);
    loop {
        let (x, y) = (xa.next(), xb.next());
        if x.is_none() && y.is_none() {
            return None;
        }
        let same = |x: &Option<Line>, y: &Option<Line>| {
            x.as_ref().map(|l| (l.0, &l.1)) == y.as_ref().map(|l| (l.0, &l.1))
        };
        if !same(&x, &y) {
            let t = x
                .as_ref()
                .or(y.as_ref())
                .map_or(model::Instant::ZERO, |e| e.0);
            let text = |e: &Option<Line>| {
                e.as_ref().map_or("(trace ended)".to_string(), |e| {
                    format!("{} ms {}", ms(e.0), e.1)
                })
            };
            return Some((ms(t), text(&x), text(&y)));
        }
    }
}

/// For each varied host (`pos`), each two of its personalities (`i`, `j`)
/// that end differently, with the first personality `k` of the other host
/// under which they do and the two cells: `((pos, i, j, k), [ci, cj])`.
type Differing = ((usize, usize, usize, usize), [usize; 2]);

fn differing_pairs(hosts: usize, axes: &[Vec<Personality>; 2], cells: &[Cell]) -> Vec<Differing> {
    let nc = axes[1].len();
    let mut found = Vec::new();
    for pos in 0..2.min(hosts) {
        let n = axes[pos].len();
        for i in 0..n {
            for j in i + 1..n {
                // The first other-host personality under which i and j end differently.
                let first = (0..axes[1 - pos].len()).find_map(|k| {
                    let (ci, cj) = if pos == 0 {
                        (i * nc + k, j * nc + k)
                    } else {
                        (k * nc + i, k * nc + j)
                    };
                    (cells[ci].ending() != cells[cj].ending()).then_some((k, ci, cj))
                });
                if let Some((k, ci, cj)) = first {
                    found.push(((pos, i, j, k), [ci, cj]));
                }
            }
        }
    }
    found
}

/// For each varied host, each two of its personalities that end differently
/// under some personality of the other host: where and why.
pub(super) fn divergences(
    s: &Scenario,
    opts: &ScenarioOpts,
    axes: &[Vec<Personality>; 2],
    cells: &[Cell],
    specs: &[Arc<WorldSpec>],
) -> Vec<Divergence> {
    let host_name = |i: usize| {
        s.spec
            .hosts
            .get(i)
            .map_or("?".to_string(), |h| h.name.clone())
    };
    // Each two personalities that end differently, found in matrix order,
    // then explained on every core (each a few runs), kept in that order.
    let found = differing_pairs(s.spec.hosts.len(), axes, cells);
    found
        .par_iter()
        .map(|&((pos, i, j, k), [ci, cj])| {
            let (ps, others) = (&axes[pos], &axes[1 - pos]);
            let (at_ms, a_entry, b_entry) =
                first_divergence(&specs[ci], &specs[cj], |_| true).unwrap_or_default();
            let (decisive_at_ms, a_decisive, b_decisive) =
                first_divergence(&specs[ci], &specs[cj], |l| l.2).unwrap_or_default();
            let knobs = blame(
                s,
                opts,
                (&ps[i], &ps[j]),
                (pos, &others[k]),
                (&cells[ci], &cells[cj]),
            );
            Divergence {
                host: host_name(pos),
                a: ps[i].name.to_string(),
                b: ps[j].name.to_string(),
                other: others[k].name.to_string(),
                a_ends: cells[ci].short(),
                b_ends: cells[cj].short(),
                at_ms,
                a_entry,
                b_entry,
                decisive_at_ms,
                a_decisive,
                b_decisive,
                knobs,
                cells: [ci, cj],
            }
        })
        .collect()
}
