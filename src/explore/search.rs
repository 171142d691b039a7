//! The breadth-first search over the state graph, its frontier expanded on
//! every core (rayon), its results taken in frontier order.
//!
//! Levels are expanded in order and each state's choices in [`Choice`]
//! order, so every state is first reached by its shortest path, and among
//! those by the smallest in choice order: a witness does not depend on the
//! number of threads, nor (`--shard`) on how the search was split.

use super::class::{violation, Class};
use super::setup::{Bounds, Setup};
use super::state::{apply, choices, settle, tcp_pair, Choice, Digest, Node, Rules, Used};
use crate::fuzz::check::Property;
use crate::fuzz::search::Shard;
use indexmap::{IndexMap, IndexSet};
use model::State;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;
use sim::World;

/// The digests of the states found so far, at their nodes' indices.
type Seen = IndexSet<u128, FxBuildHasher>;

/// States expanded per parallel batch (bounds the successors held at once).
const BATCH_STATES: usize = 4096;
/// With `--shard K/N`, the search splits at the first level with at least
/// this many states per shard.
pub const SPLIT_STATES_PER_SHARD: usize = 16;
/// Events the steps before the mark may take.
pub const PREFIX_EVENTS_MAX: u64 = 2_000_000;

/// What the search is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    pub bounds: Bounds,
    pub check: Option<Property>,
    /// `--max-states`: the most distinct states kept.
    pub max_states: u64,
    pub shard: Shard,
    /// Merge states that differ only in what no future reads
    /// (`Rules::forget_dead`, `Rules::forget_spent`); `--no-reduction` turns it off.
    pub reduce: bool,
}

/// A state as the graph keeps it (its world is dropped once expanded).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The state it was first reached from, and how.
    pub parent: Option<(NodeIndex, Choice)>,
    pub pair: [State; 2],
    /// Its class, if a run can end in it.
    pub class: Option<u32>,
}

/// A class of ends: the first state found in it (the witness's), and how
/// many states are in it.
#[derive(Clone, Debug)]
pub struct ClassSeen {
    pub first: NodeIndex,
    pub states: Vec<u128>,
}

/// The explored graph and what was found in it.
#[derive(Debug)]
pub struct Explored {
    pub graph: DiGraph<NodeInfo, Choice, u32>,
    /// Each state's digest, at its node's index.
    pub digests: Vec<u128>,
    pub classes: IndexMap<Class, ClassSeen, FxBuildHasher>,
    /// The first state that violates `--check`, and how.
    pub violation: Option<(NodeIndex, String)>,
    /// Every path of at most this many choices was followed.
    pub depth_complete: u32,
    /// `--max-states` stopped the search.
    pub bound_hit: bool,
    /// The level the search was split at for `--shard` (none unsharded).
    pub split_depth: Option<u32>,
}

impl Explored {
    /// The choices from the start to node `n`.
    pub fn path(&self, mut n: NodeIndex) -> Vec<Choice> {
        let mut out = Vec::new();
        while let Some((p, c)) = self.graph[n].parent {
            out.push(c);
            n = p;
        }
        out.reverse();
        out
    }
}

/// What expanding one state found.
pub(super) struct Expansion {
    pub end: Option<Class>,
    pub violation: Option<String>,
    /// Each choice, its state's digest, and the state unless `keep` said
    /// not to (then it is dropped on the worker, not kept).
    pub succs: Vec<(Choice, Option<Node>, u128)>,
}

/// The world where the exploration of `setup` starts, as the scenario's
/// steps before the mark leave it.
pub fn start_world(setup: &Setup, record: bool) -> Result<World, String> {
    let mut w = World::for_exploration(setup.spec.clone(), setup.prefix, record);
    if !w.run_to_start(PREFIX_EVENTS_MAX) {
        return Err(format!(
            "the steps before the mark did not finish within {PREFIX_EVENTS_MAX} events"
        ));
    }
    Ok(w)
}

/// Expands one state: each successor is kept when `keep(digest)` says so
/// (the breadth-first search: not known before the batch and the bound not
/// reached; the depth-first one: first found by this worker), otherwise
/// dropped here, on the worker, its buffers reused for the next copy.
pub(super) fn expand(
    setup: &Setup,
    cfg: &Config,
    rules: Rules,
    keep: &mut dyn FnMut(u128) -> bool,
    node: Node,
) -> Expansion {
    let mut base = node;
    let cs = choices(setup, &cfg.bounds, &mut base);
    let verdict = base.world.quiescent().then(|| base.world.verdict());
    let end = verdict.as_ref().map(|v| Class::of(&base.world, v));
    let mut found = cfg
        .check
        .and_then(|p| violation(p, setup, &base, verdict.as_ref()));
    let mut succs = Vec::with_capacity(cs.len());
    let mut buf = Digest::with_capacity();
    let last = cs.len().saturating_sub(1);
    let mut base = Some(base);
    // A successor already known is not kept: the next choice's copy reuses it.
    let mut spare: Option<Node> = None;
    for (i, &c) in cs.iter().enumerate() {
        let from = base.as_ref().expect("kept until the last choice");
        if cfg.check == Some(Property::Deterministic) && found.is_none() {
            found = nondeterministic(setup, &cfg.bounds, rules, from, c);
        }
        // The last choice takes the state itself: one clone fewer per state.
        let mut n = match (i == last, spare.take()) {
            (true, _) => base.take().expect("the state"),
            (false, Some(mut s)) => {
                s.copy_from(from);
                s
            }
            (false, None) => from.clone(),
        };
        apply(setup, rules, &mut n, c);
        settle(&cfg.bounds, rules, &mut n);
        let d = Digest::of_with(&n, rules, &mut buf);
        if keep(d) {
            succs.push((c, Some(n), d));
        } else {
            succs.push((c, None, d));
            spare = Some(n);
        }
    }
    Expansion {
        end,
        violation: found,
        succs,
    }
}

/// Whether taking `c` from `n` twice gives two states (`deterministic`).
fn nondeterministic(
    setup: &Setup,
    b: &Bounds,
    rules: Rules,
    n: &Node,
    c: Choice,
) -> Option<String> {
    let twice = [0, 1].map(|_| {
        let mut m = n.clone();
        apply(setup, rules, &mut m, c);
        settle(b, rules, &mut m);
        Digest::of(&m, rules)
    });
    (twice[0] != twice[1])
        .then(|| format!("taking the choice {c:?} twice from one state gave two states"))
}

/// Explores `setup` within `cfg`; `progress(states)` now and then.
///
/// Unsharded, the search is depth-first ([`super::dfs`]: its memory is the
/// digests and the graph, not a frontier of worlds) and its graph is then
/// numbered as the breadth-first search numbers it, so the result is the
/// same. If it reaches `--max-states`, what it found depends on the order
/// the threads took, so the breadth-first search is run instead: its
/// bounded result (every path of at most N choices) does not.
pub fn explore(
    setup: &Setup,
    cfg: &Config,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Explored, String> {
    if cfg.shard.count <= 1 {
        if let Some(ex) = super::dfs::depth_first(setup, cfg, progress)? {
            return Ok(ex);
        }
        eprintln!(
            "explore: {}/{}: --max-states {} reached depth-first; searching again breadth-first",
            setup.pair[0], setup.pair[1], cfg.max_states
        );
    }
    breadth_first(setup, cfg, progress)
}

/// The start state, settled.
pub(super) fn start_node(setup: &Setup, cfg: &Config, rules: Rules) -> Result<Node, String> {
    let mut start = Node {
        world: Box::new(start_world(setup, false)?),
        used: Used::NONE,
    };
    settle(&cfg.bounds, rules, &mut start);
    Ok(start)
}

/// The breadth-first search, level by level, each level's worlds kept
/// until expanded.
pub fn breadth_first(
    setup: &Setup,
    cfg: &Config,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Explored, String> {
    let rules = super::class::rules_for(cfg.check, cfg.reduce);
    let start = start_node(setup, cfg, rules)?;
    let mut ex = Explored {
        graph: DiGraph::default(),
        digests: Vec::new(),
        classes: IndexMap::default(),
        violation: None,
        depth_complete: 0,
        bound_hit: false,
        split_depth: None,
    };
    let mut seen = Seen::default();
    seen.insert(Digest::of(&start, rules));
    let root = ex.graph.add_node(NodeInfo {
        parent: None,
        pair: tcp_pair(&start.world),
        class: None,
    });
    let mut level = vec![(root, start)];
    let mut depth = 0;
    while !level.is_empty() {
        split_for_shard(setup, cfg, &mut ex, &mut level, depth);
        let mut next = Vec::new();
        let mut states = std::mem::take(&mut level).into_iter();
        loop {
            // Owned, so a state with one choice is stepped, not copied.
            let batch: Vec<(NodeIndex, Node)> = states.by_ref().take(BATCH_STATES).collect();
            if batch.is_empty() {
                break;
            }
            let full = seen.len() as u64 >= cfg.max_states;
            let known = &seen;
            let found: Vec<(NodeIndex, Expansion)> = batch
                .into_par_iter()
                .map(|(id, n)| {
                    let mut keep = |d: u128| !full && !known.contains(&d);
                    (id, expand(setup, cfg, rules, &mut keep, n))
                })
                .collect();
            for (id, e) in found {
                absorb(cfg, (&mut ex, &mut seen), id, e, &mut next);
            }
            progress(seen.len() as u64);
        }
        ex.depth_complete = depth;
        if ex.bound_hit {
            // The next level's worlds are never expanded: free them on every
            // core, not one by one on this thread.
            next.into_par_iter().for_each(drop);
            break;
        }
        level = next;
        depth += 1;
    }
    ex.digests = seen.into_iter().collect();
    Ok(ex)
}

/// Records one expanded state and its successors (new ones go to `next`).
fn absorb(
    cfg: &Config,
    (ex, seen): (&mut Explored, &mut Seen),
    id: NodeIndex,
    e: Expansion,
    next: &mut Vec<(NodeIndex, Node)>,
) {
    let digest = seen[id.index()];
    if let Some(class) = e.end {
        let entry = ex.classes.entry(class);
        let i = entry.index() as u32;
        entry
            .or_insert(ClassSeen {
                first: id,
                states: Vec::new(),
            })
            .states
            .push(digest);
        ex.graph[id].class = Some(i);
    }
    if let (Some(m), None) = (e.violation, &ex.violation) {
        ex.violation = Some((id, m));
    }
    for (c, n, d) in e.succs {
        if let Some(j) = seen.get_index_of(&d) {
            ex.graph.add_edge(id, NodeIndex::new(j), c);
            continue;
        }
        if seen.len() as u64 >= cfg.max_states {
            ex.bound_hit = true;
            continue;
        }
        let n = n.expect("a state not seen before the batch is kept");
        seen.insert(d);
        let j = ex.graph.add_node(NodeInfo {
            parent: Some((id, c)),
            pair: tcp_pair(&n.world),
            class: None,
        });
        ex.graph.add_edge(id, j, c);
        next.push((j, n));
    }
}

/// At the first level big enough, keeps only this shard's states: those
/// whose path (with the pair) hashes to it. Every shard makes the same
/// levels before the split, and the same split.
fn split_for_shard(
    setup: &Setup,
    cfg: &Config,
    ex: &mut Explored,
    level: &mut Vec<(NodeIndex, Node)>,
    depth: u32,
) {
    let n = cfg.shard.count;
    if n <= 1
        || ex.split_depth.is_some()
        || (level.len() as u64) < n * SPLIT_STATES_PER_SHARD as u64
    {
        return;
    }
    ex.split_depth = Some(depth);
    let mine = |id: NodeIndex| {
        let h = Digest::of_path(&setup.pair, &ex.path(id));
        (h % n as u128) as u64 == cfg.shard.index
    };
    level.retain(|(id, _)| mine(*id));
}
