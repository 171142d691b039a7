//! The survey: many random scenarios, each classified by the call patterns its
//! scripts contain, tallied per pattern and per pair of stacks (the stack of
//! the side that does it, and its peer's) into how often an RST, a loss and
//! a silent loss followed, with the smallest example of each.
//!
//! A survey is plain data (JSON): shards of the same case sequence merge into
//! exactly the survey of the whole sequence.

use super::check::{compile, Compiled};
use super::gen::{mixed, written, Call, Case, GenConfig, Net, Side, Sock, Step};
use super::search::{case_tree, Shard};
use crate::scenario::causal_resets;
use model::{How, ReadLen};
use proptest::strategy::{Strategy, ValueTree};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim::{Verdict, World};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Format version of survey files.
pub const FORMAT: u32 = 2;

/// Call patterns, in the order tables show them. The definitions are
/// script-level: what the application did, not what the stack made of it.
pub const PATTERNS: &[(&str, &str)] = &[
    (
        "close with unread data",
        "closes (or exits) before reading to EOF while the peer writes more than it reads",
    ),
    (
        "exit with open sockets",
        "exits with the connection's descriptor still open",
    ),
    ("linger 0", "sets SO_LINGER {1, 0}, then closes or exits"),
    ("linger N", "sets SO_LINGER {1, N>0}, then closes or exits"),
    (
        "data after shutdown RD",
        "shuts down RD (or RDWR) while the peer writes more than it reads",
    ),
    (
        "write after peer close",
        "writes after reading EOF, and the peer closed without shutting down WR first",
    ),
    (
        "non-blocking close after write",
        "writes and closes on a non-blocking socket",
    ),
    (
        "close right after write",
        "closes immediately after a write (blocking, no linger)",
    ),
    (
        "shutdown WR, then read to EOF",
        "half-closes, then reads until EOF",
    ),
    ("read to EOF, then close", "reads until EOF, then closes"),
    (
        "fork: child closes its copy",
        "forks a child that closes its copy of the descriptor",
    ),
    ("fork: child exits", "forks a child that exits"),
    (
        "dup: one descriptor closed",
        "dups the descriptor and closes one of the two",
    ),
    ("never closes", "neither closes nor exits"),
    (
        "small buffers",
        "SO_RCVBUF or SO_SNDBUF below 8 KiB on this side",
    ),
    (
        "packet loss",
        "random loss on the network (actor: the client)",
    ),
    (
        "reordering or jitter",
        "segments held back or delayed by jitter (actor: the client)",
    ),
    ("duplication", "segments duplicated (actor: the client)"),
    (
        "partition",
        "a window when nothing gets through (actor: the client)",
    ),
];

fn shut_wr_first(s: &Side) -> bool {
    for st in &s.steps {
        match st.call {
            Call::Shutdown {
                how: How::Wr | How::RdWr,
                ..
            } => return true,
            Call::Close { sock: Sock::Main } | Call::Exit {} => return false,
            _ => {}
        }
    }
    false
}

/// The patterns side `x` of a case shows (indices into [`PATTERNS`]).
fn side_patterns(case: &Case, x: usize, out: &mut Vec<usize>) {
    let sides = case.sides();
    let (me, peer) = (sides[x], sides[1 - x]);
    let mut walk = SideWalk {
        peer,
        peer_writes: written(&peer.steps),
        reads: 0,
        eof: false,
        linger: None,
        nb: false,
        wrote: false,
        open: [true, false],
        ends: false,
    };
    let mut prev: Option<&Call> = None;
    for st in &me.steps {
        walk.step(&me.steps, &st.call, prev, out);
        prev = Some(&st.call);
    }
    if !walk.ends {
        note(out, 13);
    }
    if me.rcvbuf.is_some_and(|b| b < 8192) || me.sndbuf.is_some_and(|b| b < 8192) {
        note(out, 14);
    }
    if x == 0 {
        net_patterns(&case.net, out);
    }
}

/// Adds pattern `p` to `out` unless it is there.
fn note(out: &mut Vec<usize>, p: usize) {
    if !out.contains(&p) {
        out.push(p);
    }
}

/// The network's patterns (counted for the client).
fn net_patterns(n: &Net, out: &mut Vec<usize>) {
    if n.loss.is_some() {
        note(out, 15);
    }
    if n.reorder.is_some() || n.jitter_us.is_some() {
        note(out, 16);
    }
    if n.duplicate.is_some() {
        note(out, 17);
    }
    if n.partition.is_some() {
        note(out, 18);
    }
}

/// What one side has done so far, walking its steps in order.
struct SideWalk<'a> {
    peer: &'a Side,
    /// Bytes the peer writes in all, and bytes this side has read.
    peer_writes: u64,
    reads: u64,
    /// Read to EOF.
    eof: bool,
    linger: Option<u32>,
    /// Non-blocking socket.
    nb: bool,
    wrote: bool,
    /// The main descriptor and its dup are open.
    open: [bool; 2],
    /// A close or exit that ends the connection's last descriptor happened.
    ends: bool,
}

impl SideWalk<'_> {
    /// One call of the side's `steps`; `prev` is the call before it.
    fn step(&mut self, steps: &[Step], call: &Call, prev: Option<&Call>, out: &mut Vec<usize>) {
        match call {
            Call::Write { bytes: _, .. } => {
                self.wrote = true;
                if self.eof && !shut_wr_first(self.peer) {
                    note(out, 5);
                }
            }
            Call::Read {
                len: ReadLen::Bytes(n),
                ..
            } => self.reads += n,
            Call::Read {
                len: ReadLen::Eof, ..
            } => self.eof = true,
            Call::Shutdown { how: h, .. } => self.shutdown(steps, call, *h, out),
            Call::Linger { linger: l, .. } => self.linger = *l,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => self.nb = true,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => self.open[1] = true,
            Call::Close { sock: Sock::Dup } => {
                self.open[1] = false;
                note(out, 12);
            }
            Call::Fork { child: c } => fork_patterns(c, out),
            Call::Close { sock: Sock::Main } | Call::Exit {} => self.close(call, prev, out),
            // Calls the generator does not make in a tail.
            _ => {}
        }
    }

    fn shutdown(&self, steps: &[Step], call: &Call, h: How, out: &mut Vec<usize>) {
        if matches!(h, How::Rd | How::RdWr) && !self.eof && self.peer_writes > self.reads {
            note(out, 4);
        }
        let read_eof = Call::Read {
            sock: Sock::Main,
            len: ReadLen::Eof,
            timeout: None,
        };
        if matches!(h, How::Wr)
            && steps
                .iter()
                .skip_while(|s| s.call != *call)
                .any(|s| s.call == read_eof)
        {
            note(out, 8);
        }
    }

    /// `close c` or `exit`.
    fn close(&mut self, call: &Call, prev: Option<&Call>, out: &mut Vec<usize>) {
        let exit = *call == Call::Exit {};
        if exit && (self.open[0] || self.open[1]) {
            note(out, 1);
        }
        if *call == (Call::Close { sock: Sock::Main }) && self.open[1] {
            note(out, 12);
        }
        let closes = exit || !self.open[1];
        if closes && (self.open[0] || exit) {
            self.ends = true;
            self.ending_patterns(exit, prev, out);
        }
        if exit {
            self.open = [false, false];
        } else {
            self.open[0] = false;
        }
    }

    /// The patterns of the close (or exit) that ends the connection.
    fn ending_patterns(&self, exit: bool, prev: Option<&Call>, out: &mut Vec<usize>) {
        if !self.eof && self.peer_writes > self.reads {
            note(out, 0);
        }
        match self.linger {
            Some(0) => note(out, 2),
            Some(_) => note(out, 3),
            None => {}
        }
        if self.nb && self.wrote {
            note(out, 6);
        }
        let after_write = matches!(
            prev,
            Some(Call::Write {
                sock: Sock::Main,
                ..
            })
        );
        if !exit && self.linger.is_none() && !self.nb && after_write {
            note(out, 7);
        }
        let after_read_eof = matches!(
            prev,
            Some(Call::Read {
                sock: Sock::Main,
                len: ReadLen::Eof,
                ..
            })
        );
        if self.eof && after_read_eof && !exit {
            note(out, 9);
        }
    }
}

/// A fork's patterns: its child closes its copy, or exits.
fn fork_patterns(child: &[Step], out: &mut Vec<usize>) {
    if child
        .iter()
        .any(|s| s.call == Call::Close { sock: Sock::Main })
    {
        note(out, 10);
    }
    if child.iter().any(|s| s.call == Call::Exit {}) {
        note(out, 11);
    }
}

/// (pattern, acting side) pairs a case shows.
pub fn patterns(case: &Case) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for x in 0..2 {
        let mut p = Vec::new();
        side_patterns(case, x, &mut p);
        p.sort_unstable();
        out.extend(p.into_iter().map(|p| (p, x)));
    }
    out
}

/// The smallest case of a row that ended in an RST or a loss.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Example {
    /// Index of the case in the sequence.
    pub case: u64,
    /// (steps, faults, buffer options, bytes): smaller is simpler.
    pub size: (usize, u32, u32, u64),
    pub outcome: String,
    pub rst: Vec<String>,
    pub lost: u64,
    pub silent: bool,
}

impl Example {
    fn key(&self) -> ((usize, u32, u32, u64), u64) {
        (self.size, self.case)
    }
}

/// One (pattern, actor stack, peer stack) cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Row {
    pub pattern: String,
    /// The stack of the side showing the pattern.
    pub actor: String,
    pub peer: String,
    pub cases: u64,
    /// Cases in which some RST was sent.
    pub rst: u64,
    /// Cases with bytes written successfully and never read.
    pub loss: u64,
    /// Cases with loss the writer never saw as an error.
    pub silent: u64,
    /// RSTs by who sent them and why (`actor: close-with-unread`), in cases.
    pub causes: BTreeMap<String, u64>,
    /// The smallest case for each RST cause (keyed like `causes`), and for
    /// loss without any RST (`loss`).
    pub examples: BTreeMap<String, Example>,
}

/// A survey, or a shard of one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Survey {
    pub format: u32,
    pub seed: u64,
    /// Length of the whole case sequence.
    pub cases: u64,
    pub personalities: Vec<String>,
    /// Shards included, of `of`; a complete survey is `[0]` of 1.
    pub shards: Vec<u64>,
    pub of: u64,
    /// Cases run.
    pub run: u64,
    /// Cases whose scenario did not compile (should be 0).
    pub invalid: u64,
    pub rows: Vec<Row>,
}

/// What one case contributes.
struct CaseResult {
    /// (pattern, acting side, actor stack, peer stack)
    keys: Vec<(usize, usize, String, String)>,
    rst: bool,
    loss: bool,
    silent: bool,
    causes: Vec<(usize, String)>, // (sender side, cause)
    example: Example,
}

fn outcome_of(i: u64, case: &Case, c: &Compiled, v: &Verdict) -> CaseResult {
    let pats = patterns(case);
    let sides = case.sides();
    let keys = pats
        .iter()
        .map(|&(p, x)| {
            (
                p,
                x,
                sides[x].personality.clone(),
                sides[1 - x].personality.clone(),
            )
        })
        .collect();
    let spec = &c.spec;
    let rst: Vec<String> = causal_resets(v)
        .map(|r| {
            format!(
                "{}: {}",
                spec.hosts[r.from.host as usize].name,
                r.cause.key()
            )
        })
        .collect();
    let mut causes: Vec<(usize, String)> = causal_resets(v)
        .map(|r| (r.from.host as usize, r.cause.key().to_string()))
        .collect();
    causes.sort();
    causes.dedup();
    CaseResult {
        keys,
        rst: !v.resets.is_empty(),
        loss: v.lost_bytes() > 0,
        silent: v.silent_loss(),
        causes,
        example: Example {
            case: i,
            size: case.size(),
            outcome: v.outcome.key().to_string(),
            rst,
            lost: v.lost_bytes(),
            silent: v.silent_loss(),
        },
    }
}

/// Cases between two progress reports.
const PROGRESS_EVERY: u64 = 4096;

/// Some of the cases tallied: the cells, cases run, cases that did not compile.
#[derive(Default)]
struct Tally {
    cells: BTreeMap<(usize, usize, usize), Row>,
    run: u64,
    invalid: u64,
}

impl Tally {
    fn add_case(&mut self, r: Option<CaseResult>, pidx: impl Fn(&str) -> usize) {
        self.run += 1;
        let Some(r) = r else {
            self.invalid += 1;
            return;
        };
        for (p, x, actor, peer) in &r.keys {
            let key = (*p, pidx(actor), pidx(peer));
            let row = self.cells.entry(key).or_insert_with(|| Row {
                pattern: PATTERNS[*p].0.to_string(),
                actor: actor.clone(),
                peer: peer.clone(),
                cases: 0,
                rst: 0,
                loss: 0,
                silent: 0,
                causes: BTreeMap::new(),
                examples: BTreeMap::new(),
            });
            add(row, &r, *x);
        }
    }

    /// Both tallies in one: what the cases of both give, in any order.
    fn absorb(mut self, other: Tally) -> Tally {
        for (key, r) in other.cells {
            match self.cells.get_mut(&key) {
                None => {
                    self.cells.insert(key, r);
                }
                Some(m) => absorb_row(m, &r),
            }
        }
        self.run += other.run;
        self.invalid += other.invalid;
        self
    }
}

/// Adds row `r`'s cases to `m` (the same cell): counts summed, the smaller
/// example kept, so the result does not depend on which came first.
fn absorb_row(m: &mut Row, r: &Row) {
    m.cases += r.cases;
    m.rst += r.rst;
    m.loss += r.loss;
    m.silent += r.silent;
    for (c, n) in &r.causes {
        *m.causes.entry(c.clone()).or_default() += n;
    }
    for (k, e) in &r.examples {
        keep_smaller(&mut m.examples, k.clone(), e);
    }
}

/// Runs the cases of one shard and tallies them. The cores share the cases
/// with no barrier between them (each tallies what it ran; the tallies are
/// summed, as shards merge); `progress(n)` hears of every 4,096 cases done.
pub fn survey(
    gen: &GenConfig,
    seed: u64,
    cases: u64,
    shard: Shard,
    progress: impl Fn(u64) + Sync,
) -> Survey {
    let strategy = mixed(gen).sboxed();
    let indices: Vec<u64> = shard.indices(cases).collect();
    let pidx = |name: &str| {
        gen.pool
            .iter()
            .position(|p| p == name)
            .unwrap_or(usize::MAX)
    };
    let done = AtomicU64::new(0);
    let tally = indices
        .par_iter()
        .fold(Tally::default, |mut t, &i| {
            let case = case_tree(&strategy, seed, i).current();
            let r = compile(&case).ok().map(|c| {
                let v = World::new(Arc::clone(&c.spec), false).run();
                outcome_of(i, &case, &c, &v)
            });
            t.add_case(r, pidx);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(PROGRESS_EVERY) {
                progress(n);
            }
            t
        })
        .reduce(Tally::default, Tally::absorb);
    progress(tally.run);
    Survey {
        format: FORMAT,
        seed,
        cases,
        personalities: gen.pool.to_vec(),
        shards: vec![shard.index],
        of: shard.count,
        run: tally.run,
        invalid: tally.invalid,
        rows: tally.cells.into_values().collect(),
    }
    .normalized()
}

fn add(row: &mut Row, r: &CaseResult, actor: usize) {
    row.cases += 1;
    row.rst += r.rst as u64;
    row.loss += r.loss as u64;
    row.silent += r.silent as u64;
    for (side, cause) in &r.causes {
        let who = if *side == actor { "actor" } else { "peer" };
        *row.causes.entry(format!("{who}: {cause}")).or_default() += 1;
    }
    let mut keys: Vec<String> = r
        .causes
        .iter()
        .map(|(side, cause)| who(*side == actor, cause))
        .collect();
    if r.loss && !r.rst {
        keys.push(LOSS.to_string());
    }
    for k in keys {
        keep_smaller(&mut row.examples, k, &r.example);
    }
}

/// The examples key of loss without any RST.
const LOSS: &str = "loss";

fn who(actor: bool, cause: &str) -> String {
    format!("{}: {cause}", if actor { "actor" } else { "peer" })
}

fn keep_smaller(m: &mut BTreeMap<String, Example>, k: String, e: &Example) {
    match m.get(&k) {
        Some(x) if x.key() <= e.key() => {}
        _ => {
            m.insert(k, e.clone());
        }
    }
}

impl Survey {
    /// A survey holding every shard of its sequence is written as shard 0 of 1.
    fn normalized(mut self) -> Survey {
        self.shards.sort_unstable();
        self.shards.dedup();
        if self.shards.len() as u64 == self.of {
            self.shards = vec![0];
            self.of = 1;
        }
        self
    }

    /// Merges shard surveys of the same sequence.
    pub fn merge(parts: &[Survey]) -> Result<Survey, String> {
        let Some(first) = parts.first() else {
            return Err("nothing to merge".into());
        };
        let order: Vec<String> = first.personalities.clone();
        let pidx = |name: &str| order.iter().position(|p| p == name).unwrap_or(usize::MAX);
        let pat = |name: &str| {
            PATTERNS
                .iter()
                .position(|p| p.0 == name)
                .unwrap_or(usize::MAX)
        };
        let mut cells: BTreeMap<(usize, usize, usize), Row> = BTreeMap::new();
        let mut shards = Vec::new();
        let (mut run, mut invalid) = (0, 0);
        for s in parts {
            if s.format != FORMAT
                || s.seed != first.seed
                || s.cases != first.cases
                || s.personalities != first.personalities
                || s.of != first.of
            {
                return Err(format!(
                    "surveys differ in format, seed, cases, personalities or shard count (seed {} vs {}, cases {} vs {}, of {} vs {})",
                    s.seed, first.seed, s.cases, first.cases, s.of, first.of
                ));
            }
            for k in &s.shards {
                if shards.contains(k) {
                    return Err(format!("shard {k}/{} appears twice", s.of));
                }
                shards.push(*k);
            }
            run += s.run;
            invalid += s.invalid;
            for r in &s.rows {
                let key = (pat(&r.pattern), pidx(&r.actor), pidx(&r.peer));
                match cells.get_mut(&key) {
                    None => {
                        cells.insert(key, r.clone());
                    }
                    Some(m) => absorb_row(m, r),
                }
            }
        }
        Ok(Survey {
            format: FORMAT,
            seed: first.seed,
            cases: first.cases,
            personalities: first.personalities.clone(),
            shards,
            of: first.of,
            run,
            invalid,
            rows: cells.into_values().collect(),
        }
        .normalized())
    }
}

// Rendering: the overview, the matrices, the shrunk examples.
mod render;
pub use render::{render, shrink_example, Shrunk};
