//! The depth-first search: every core follows its own subtrees (a rayon
//! scope, each worker taking its newest task first, so what is held at once
//! is about depth × branching worlds per worker, not a level of them),
//! with one concurrent digest set deciding which worker expands a state.
//!
//! Which worker finds a state first, and so the number it gets, depends
//! on the threads' timing; the states and transitions found do not. Once
//! the search is complete the graph is numbered again by a breadth-first
//! pass over it from the start, each state's transitions in [`Choice`]
//! order: the order in which [`super::search::breadth_first`] finds the
//! same states. The result (numbering, parents, classes, witnesses,
//! livelocks) is then the breadth-first search's, exactly.

use super::class::{rules_for, Class};
use super::search::{expand, start_node, ClassSeen, Config, Explored, NodeInfo};
use super::setup::Setup;
use super::state::{tcp_pair, Choice, Digest, Node};
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use indexmap::IndexMap;
use model::State;
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxBuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::Mutex;

/// Shards of the digest set: each grows on its own, so a resize holds two
/// tables of one shard, not of the whole set.
const SEEN_SHARDS: usize = 64;
/// States between two calls of `progress`.
const PROGRESS_STATES: u32 = 1 << 14;

/// What one worker found: each state it expanded, with its TCP pair, the
/// transitions out of it (those of one state together, in choice order),
/// its ends and violations.
#[derive(Default)]
struct Found {
    pairs: Vec<(u32, [State; 2])>,
    edges: Vec<(u32, u32, Choice)>,
    classes: IndexMap<Class, Vec<u32>, FxBuildHasher>,
    violations: Vec<(u32, String)>,
}

/// What the workers share.
struct Shared<'a> {
    setup: &'a Setup,
    cfg: &'a Config,
    /// Each state's digest (as two words: 24 bytes an entry, not a
    /// `u128`'s 32) and its number.
    seen: DashMap<[u64; 2], u32, FxBuildHasher>,
    next_id: AtomicU32,
    /// `--max-states` was reached: every worker stops.
    full: AtomicBool,
    /// One per worker thread (its own lock, never contended but by a
    /// thread outside the pool).
    found: Vec<Mutex<Found>>,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Shared<'_> {
    /// The number of state `d`, and whether it is new; none once the bound
    /// is reached.
    fn insert(&self, d: u128) -> Option<(u32, bool)> {
        match self.seen.entry([d as u64, (d >> 64) as u64]) {
            Entry::Occupied(e) => Some((*e.get(), false)),
            Entry::Vacant(e) => {
                let id = self.next_id.fetch_add(1, Relaxed);
                if u64::from(id) >= self.cfg.max_states || id == u32::MAX {
                    self.full.store(true, Relaxed);
                    return None;
                }
                e.insert(id);
                if id.is_multiple_of(PROGRESS_STATES) {
                    (self.progress)(u64::from(id));
                }
                Some((id, true))
            }
        }
    }

    /// Expands state `id` and hands each new successor to the scope.
    fn visit<'s>(&'s self, scope: &rayon::Scope<'s>, id: u32, node: Node) {
        if self.full.load(Relaxed) {
            return;
        }
        let pair = tcp_pair(&node.world);
        let rules = rules_for(self.cfg.check, self.cfg.reduce);
        let mut ids = Vec::new();
        let mut keep = |d: u128| match self.insert(d) {
            Some((j, new)) => {
                ids.push(j);
                new
            }
            None => {
                ids.push(u32::MAX);
                false
            }
        };
        let e = expand(self.setup, self.cfg, rules, &mut keep, node);
        if self.full.load(Relaxed) {
            return;
        }
        {
            let worker = rayon::current_thread_index().unwrap_or(0) % self.found.len();
            let mut f = self.found[worker].lock().expect("a worker's findings");
            f.pairs.push((id, pair));
            f.edges
                .extend(e.succs.iter().zip(&ids).map(|((c, _, _), &j)| (id, j, *c)));
            if let Some(class) = e.end {
                f.classes.entry(class).or_default().push(id);
            }
            if let Some(m) = e.violation {
                f.violations.push((id, m));
            }
        }
        for ((_, n, _), j) in e.succs.into_iter().zip(ids) {
            if let Some(n) = n {
                scope.spawn(move |s| self.visit(s, j, n));
            }
        }
    }
}

/// Explores `setup` depth-first on every core; none if `--max-states` is
/// reached (the caller then searches breadth-first).
pub fn depth_first(
    setup: &Setup,
    cfg: &Config,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Option<Explored>, String> {
    let rules = rules_for(cfg.check, cfg.reduce);
    let start = start_node(setup, cfg, rules)?;
    let sh = Shared {
        setup,
        cfg,
        seen: DashMap::with_hasher_and_shard_amount(FxBuildHasher, SEEN_SHARDS),
        next_id: AtomicU32::new(0),
        full: AtomicBool::new(false),
        found: (0..rayon::current_num_threads().max(1))
            .map(|_| Mutex::default())
            .collect(),
        progress,
    };
    let (root, _) = sh
        .insert(Digest::of(&start, rules))
        .expect("room for the start");
    rayon::scope(|s| sh.visit(s, root, start));
    if sh.full.load(Relaxed) {
        return Ok(None);
    }
    let n = sh.next_id.load(Relaxed) as usize;
    let mut digests = vec![0u128; n];
    for ([lo, hi], id) in sh.seen {
        digests[id as usize] = u128::from(lo) | u128::from(hi) << 64;
    }
    let found: Vec<Found> = sh
        .found
        .into_iter()
        .map(|f| f.into_inner().expect("a worker's findings"))
        .collect();
    Ok(Some(number(digests, found)))
}

/// The transitions out of each state, in choice order (`at[i]..at[i + 1]`).
struct Adjacency {
    at: Vec<u32>,
    to: Vec<(u32, Choice)>,
}

impl Adjacency {
    fn of(n: usize, found: &mut [Found]) -> Adjacency {
        let mut at = vec![0u32; n + 1];
        for &(s, _, _) in found.iter().flat_map(|f| &f.edges) {
            at[s as usize + 1] += 1;
        }
        for i in 0..n {
            at[i + 1] += at[i];
        }
        let mut fill = at.clone();
        let mut to = vec![(0, Choice::Next); at[n] as usize];
        for f in found.iter_mut() {
            // A state's transitions were recorded together, in order.
            for (s, t, c) in std::mem::take(&mut f.edges) {
                to[fill[s as usize] as usize] = (t, c);
                fill[s as usize] += 1;
            }
        }
        Adjacency { at, to }
    }

    fn out(&self, s: u32) -> &[(u32, Choice)] {
        &self.to[self.at[s as usize] as usize..self.at[s as usize + 1] as usize]
    }
}

/// The breadth-first pass over the complete graph from the start (state
/// 0), each state's transitions in choice order: the states in the order
/// [`super::search::breadth_first`] finds them, each state's number in
/// that order and first parent, and the depth of the last.
struct Order {
    order: Vec<u32>,
    new_of: Vec<u32>,
    parent: Vec<Option<(u32, Choice)>>,
    depth_max: u32,
}

impl Order {
    fn of(n: usize, adj: &Adjacency) -> Order {
        let mut new_of = vec![u32::MAX; n];
        let mut parent: Vec<Option<(u32, Choice)>> = vec![None; n];
        let mut order = Vec::with_capacity(n);
        new_of[0] = 0;
        order.push(0u32);
        // `order` is the queue: a level's states, then the next level's.
        let (mut head, mut level_end, mut depth_max) = (0, 1, 0);
        while head < order.len() {
            if head == level_end {
                level_end = order.len();
                depth_max += 1;
            }
            let s = order[head];
            head += 1;
            for &(t, c) in adj.out(s) {
                if new_of[t as usize] == u32::MAX {
                    new_of[t as usize] = order.len() as u32;
                    order.push(t);
                    parent[t as usize] = Some((new_of[s as usize], c));
                }
            }
        }
        assert_eq!(
            order.len(),
            n,
            "every state found is reached from the start"
        );
        Order {
            order,
            new_of,
            parent,
            depth_max,
        }
    }
}

/// The complete graph, numbered in breadth-first order from the start.
/// What is no longer needed is freed as it goes: the peak is the graph
/// and the adjacency it is built from.
fn number(digests: Vec<u128>, mut found: Vec<Found>) -> Explored {
    let n = digests.len();
    let adj = Adjacency::of(n, &mut found);
    let Order {
        order,
        new_of,
        parent,
        depth_max,
    } = Order::of(n, &adj);
    let digests: Vec<u128> = {
        let old = digests;
        order.iter().map(|&s| old[s as usize]).collect()
    };
    let mut pairs = vec![[State::Closed; 2]; n];
    for f in found.iter_mut() {
        for (s, p) in std::mem::take(&mut f.pairs) {
            pairs[s as usize] = p;
        }
    }
    let mut graph = DiGraph::with_capacity(n, adj.to.len());
    for &s in &order {
        graph.add_node(NodeInfo {
            parent: parent[s as usize].map(|(p, c)| (NodeIndex::new(p as usize), c)),
            pair: pairs[s as usize],
            class: None,
        });
    }
    drop((pairs, parent));
    let new = |s: u32| NodeIndex::new(new_of[s as usize] as usize);
    for &s in &order {
        for &(t, c) in adj.out(s) {
            graph.add_edge(new(s), new(t), c);
        }
    }
    drop((adj, order));
    let mut ex = Explored {
        graph,
        digests,
        classes: IndexMap::default(),
        violation: None,
        depth_complete: depth_max,
        bound_hit: false,
        split_depth: None,
    };
    classes_in_order(&mut ex, &mut found, &new_of);
    ex.violation = found
        .iter_mut()
        .flat_map(|f| std::mem::take(&mut f.violations))
        .map(|(s, m)| (new_of[s as usize], m))
        .min_by_key(|(i, _)| *i)
        .map(|(i, m)| (NodeIndex::new(i as usize), m));
    ex
}

/// The classes as the breadth-first search records them: in the order of
/// their first state, each with its states' digests in state order.
fn classes_in_order(ex: &mut Explored, found: &mut [Found], new_of: &[u32]) {
    let mut all: IndexMap<Class, Vec<u32>, FxBuildHasher> = IndexMap::default();
    for f in found.iter_mut() {
        for (class, states) in std::mem::take(&mut f.classes) {
            let e = all.entry(class).or_default();
            e.extend(states.iter().map(|&s| new_of[s as usize]));
        }
    }
    let mut all: Vec<(Class, Vec<u32>)> = all
        .into_iter()
        .map(|(c, mut v)| {
            v.sort_unstable();
            (c, v)
        })
        .collect();
    all.sort_by_key(|(_, v)| v[0]);
    for (i, (class, states)) in all.into_iter().enumerate() {
        for &s in &states {
            ex.graph[NodeIndex::new(s as usize)].class = Some(i as u32);
        }
        let digests = states.iter().map(|&s| ex.digests[s as usize]).collect();
        ex.classes.insert(
            class,
            ClassSeen {
                first: NodeIndex::new(states[0] as usize),
                states: digests,
            },
        );
    }
}
