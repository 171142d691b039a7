//! One state of an exploration and the choices that lead out of it.
//!
//! A state is the whole world in its canonical form ([`World::canonicalize`]:
//! its clock at one epoch, stale timers gone, report-only tallies forgotten)
//! plus what the bounds have used up: each side's calls of the menu and the
//! network's losses, duplications and reorderings. Its digest (128-bit
//! XXH3 of `World::hash_state`, each host in it as its own digest, and the
//! budgets, integers little-endian) names it: two paths that reach the same
//! digest are one state.

use super::setup::{Bounds, Kind, Setup};
use model::State;
use serde::{Deserialize, Serialize};
use sim::app::AppStatus;
use sim::explore::Bytes;
use sim::World;
use std::hash::Hash;

/// The most calls of the menu a side may make (`--max-calls`).
pub const MAX_CALLS: usize = 16;
/// The most calls a menu may have (`--calls`).
pub const MAX_ITEMS: usize = 32;

/// One step of a path through the state graph. The order is the order of
/// preference among equally short witnesses: the network's default first.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    /// The next event happens (a segment arriving is delivered).
    Next,
    /// The network loses the segment arriving next.
    Lose,
    /// The segment arriving next arrives twice.
    Duplicate,
    /// The segment arriving next is overtaken by the next one to the same host.
    Overtaken,
    /// The segment arriving next is held back until the next timer has fired.
    TimerFirst,
    /// A side makes a call of the menu.
    Call { side: u8, item: u8 },
}

/// What the bounds have used up on the way to a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Used {
    /// Each side's calls: menu items in the order made (sorted when the
    /// order does not matter, so that the same calls are the same state).
    pub calls: [[u8; MAX_CALLS]; 2],
    pub ncalls: [u8; 2],
    pub losses: u8,
    pub dups: u8,
    pub reorders: u8,
}

impl Used {
    pub const NONE: Used = Used {
        calls: [[0; MAX_CALLS]; 2],
        ncalls: [0; 2],
        losses: 0,
        dups: 0,
        reorders: 0,
    };

    /// The calls side `s` has made, in order (or sorted); under
    /// `Rules::forget_spent`, a side that can call no more has a record of
    /// [`SPENT`] instead, read by nothing.
    pub fn calls(&self, s: usize) -> &[u8] {
        &self.calls[s][..self.ncalls[s] as usize]
    }

    fn count(&self, s: usize, pred: impl Fn(u8) -> bool) -> usize {
        self.calls(s).iter().filter(|&&i| pred(i)).count()
    }
}

/// A state: the canonical world and the budgets used.
#[derive(Clone, Debug)]
pub struct Node {
    /// Boxed: a world is large, and states move through queues.
    pub world: Box<World>,
    pub used: Used,
}

impl Node {
    /// Makes this node a copy of `o` in its own buffers ([`World::copy_from`]).
    pub fn copy_from(&mut self, o: &Node) {
        self.world.copy_from(&o.world);
        self.used = o.used;
    }
}

/// How the explorer treats a state's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Keep each side's calls in the order made (a property that depends on
    /// it, `graceful-close-is-clean`); otherwise the same calls in another
    /// order with the same world are one state.
    pub ordered: bool,
    /// Leave out of a state's digest what no future of it reads (a
    /// process's position once it is done, when a call started if no
    /// `blocked=` reads it: [`sim::World::hash_state_as`]). Off with
    /// `--no-reduction`, which keeps the explorer's states as they were.
    pub forget_dead: bool,
    /// Forget the calls of a side that can make no more (it made its last,
    /// or `--max-calls`): nothing but a property (`--check`) reads them.
    pub forget_spent: bool,
}

/// What a spent side's calls are recorded as ([`settle`]).
const SPENT: u8 = u8::MAX;

/// A 128-bit XXH3 digest of a state's `Hash` bytes and its budgets
/// ([`sim::explore::Bytes`]: integers little-endian), so a digest names the
/// same state on every machine. Each host enters as the digest of its
/// canonical form, taken once per change ([`World::canonicalize`]).
pub struct Digest;

/// A state's bytes without its hosts', rounded up.
const DIGEST_BUF_BYTES: usize = 4 << 10;

impl Digest {
    /// The digest of a state, through `buf`'s bytes (reused: no allocation
    /// once it has grown to a state's size).
    pub fn of_with(n: &Node, rules: Rules, buf: &mut Bytes) -> u128 {
        buf.clear();
        n.world.hash_state_as(buf, rules.forget_dead);
        n.used.hash(buf);
        buf.xxh3_128()
    }

    /// An empty buffer already as large as a state's bytes usually are:
    /// hashing into it does not grow it step by step.
    pub fn with_capacity() -> Bytes {
        Bytes::with_capacity(DIGEST_BUF_BYTES)
    }

    pub fn of(n: &Node, rules: Rules) -> u128 {
        Digest::of_with(n, rules, &mut Bytes::default())
    }

    /// The digest of a path (shard assignment).
    pub fn of_path(pair: &[String; 2], path: &[Choice]) -> u128 {
        let mut d = Bytes::default();
        pair.hash(&mut d);
        path.hash(&mut d);
        d.xxh3_128()
    }
}

/// The two sides' TCP states (for the quotient graph and reports).
pub fn tcp_pair(w: &World) -> [State; 2] {
    [w.tcp_state(0), w.tcp_state(1)]
}

/// Whether side `s` can make no more calls: it made its last (close,
/// exit) or `--max-calls` of them.
fn spent(b: &Bounds, used: &Used, s: usize) -> bool {
    used.ncalls[s] >= b.max_calls
        || used
            .calls(s)
            .iter()
            .any(|&i| i == SPENT || b.items[i as usize].kind == Kind::Ends)
}

/// Puts a state reached by [`apply`] into its canonical form: the world's
/// ([`World::canonicalize`]) and, under `rules.forget_spent`, each spent
/// side's calls as one record, so that the histories of a side that can
/// call no more are one state when the world is the same.
pub fn settle(b: &Bounds, rules: Rules, n: &mut Node) {
    n.world.canonicalize();
    if !rules.forget_spent {
        return;
    }
    for s in 0..2 {
        if spent(b, &n.used, s) {
            n.used.calls[s] = [SPENT; MAX_CALLS];
            n.used.ncalls[s] = b.max_calls;
        }
    }
}

/// Whether side `s` may make call `item` now, as far as the bounds go.
fn may_call(b: &Bounds, used: &Used, s: usize, item: usize) -> bool {
    let kind = |i: u8| b.items[i as usize].kind;
    if spent(b, used, s) {
        return false;
    }
    match b.items[item].kind {
        Kind::Write => used.count(s, |i| kind(i) == Kind::Write) < b.max_writes as usize,
        Kind::Repeat => true,
        Kind::Once | Kind::Ends => used.count(s, |i| i as usize == item) == 0,
    }
}

/// The choices out of a state whose world has just been asked for its next
/// event (`next_arrival`), in [`Choice`] order.
pub fn choices(setup: &Setup, b: &Bounds, n: &mut Node) -> Vec<Choice> {
    let mut out = Vec::new();
    let arrival = n.world.next_arrival();
    if !n.world.quiescent() {
        out.push(Choice::Next);
    }
    if let Some(a) = arrival {
        if n.used.losses < b.losses {
            out.push(Choice::Lose);
        }
        if n.used.dups < b.dups {
            out.push(Choice::Duplicate);
        }
        if n.used.reorders < b.reorders {
            if n.world.next_arrival_behind(a).is_some() {
                out.push(Choice::Overtaken);
            }
            if n.world.next_timer_behind(a).is_some() {
                out.push(Choice::TimerFirst);
            }
        }
    }
    if n.world.call_time().is_some() {
        for (s, side) in setup.sides.iter().enumerate() {
            if n.world.status(side.proc) != AppStatus::Done {
                continue;
            }
            for item in 0..b.items.len() {
                if may_call(b, &n.used, s, item) {
                    out.push(Choice::Call {
                        side: s as u8,
                        item: item as u8,
                    });
                }
            }
        }
    }
    out
}

/// Takes choice `c` in state `n` (not canonicalized: the witness builder
/// takes the same steps on a world that keeps its clock).
pub fn apply(setup: &Setup, rules: Rules, n: &mut Node, c: Choice) {
    let w = &mut n.world;
    match c {
        Choice::Next => {
            let ran = w.step();
            assert!(ran, "a live event");
        }
        Choice::Lose => {
            let a = w.next_arrival().expect("an arrival");
            w.lose(a);
            n.used.losses += 1;
        }
        Choice::Duplicate => {
            let a = w.next_arrival().expect("an arrival");
            w.duplicate(a);
            n.used.dups += 1;
        }
        Choice::Overtaken | Choice::TimerFirst => {
            let a = w.next_arrival().expect("an arrival");
            let behind = match c {
                Choice::Overtaken => w.next_arrival_behind(a),
                _ => w.next_timer_behind(a),
            };
            let at = behind.expect("something to wait for") + model::Duration::from_ns(1);
            w.hold(a, at);
            n.used.reorders += 1;
        }
        Choice::Call { side, item } => {
            let s = &setup.sides[side as usize];
            w.call_step(s.proc, s.steps[item as usize]);
            let u = &mut n.used;
            let k = u.ncalls[side as usize] as usize;
            u.calls[side as usize][k] = item;
            u.ncalls[side as usize] += 1;
            if !rules.ordered {
                u.calls[side as usize][..=k].sort_unstable();
            }
        }
    }
}
