//! Generated scenarios: an abstract [`Case`] (a personality pair, each side's
//! calls with their waits, buffer sizes, network conditions), the proptest
//! strategies that produce it, and its translation into a [`ScenarioFile`].
//!
//! Every case is valid by construction: a fixed client/server skeleton (the
//! server listens and accepts, the client connects at 1 ms) followed by
//! generated tails, normalized so that no call uses a descriptor after it was
//! released. Shrinking goes toward fewer steps (vectors shrink by removing
//! elements), smaller byte counts (ranges shrink toward their low end), fewer
//! faults (options shrink to `None`) and simpler personalities (indices
//! shrink toward the first of the pool, `linux` by default).

use crate::scenario::file::{HostDef, LinkDef, NetworkDef, PartitionDef, ProcDef, ScenarioFile};
use crate::scenario::steps::{Op, StepDef, Text, Tok};
use crate::units::format_duration;
use indexmap::IndexMap;
use model::{Dest, Duration, How, Instant, Naming, ReadLen, Rename};
use proptest::prelude::*;
use serde::Serialize;
use sim::spec::At;
use std::sync::Arc;
use toml::Spanned;

/// How long a step waits after the previous step of its process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Wait {
    /// `-`: right after.
    Now,
    /// `+Nms`.
    Ms(u32),
}

/// The generator's socket names: each side has its connection socket and
/// at most one `dup` of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Sock {
    /// `c` (client) or `s` (server).
    Main,
    /// `c2` or `s2`.
    Dup,
}

/// The generator's naming: [`Sock`]s, the one peer host, and a forked
/// child written as the steps it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Gen;

impl Naming for Gen {
    type Sock = Sock;
    type New = Sock;
    type Host = ();
    type Proc = Vec<Step>;
    fn created(sock: &Sock) -> Sock {
        *sock
    }
}

/// One generated call, of the one vocabulary ([`model::call`]).
pub type Call = model::Call<Gen>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Step {
    pub wait: Wait,
    pub call: Call,
}

/// One host: its personality, socket buffer options and its tail of calls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Side {
    pub personality: String,
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    pub steps: Vec<Step>,
}

/// A cut of the network: `dir` 0 both ways, 1 client→server, 2 server→client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionGen {
    pub from_ms: u32,
    pub len_ms: u32,
    pub dir: u8,
}

/// Network conditions; `None` is the default (50 µs, no faults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Net {
    pub delay_us: Option<u64>,
    pub jitter_us: Option<u64>,
    /// Probabilities in per mille.
    pub loss: Option<u32>,
    pub duplicate: Option<u32>,
    pub reorder: Option<u32>,
    pub partition: Option<PartitionGen>,
}

impl Net {
    /// How many fault kinds are on (delay excluded).
    pub fn faults(&self) -> u32 {
        [
            self.jitter_us.is_some(),
            self.loss.is_some(),
            self.duplicate.is_some(),
            self.reorder.is_some(),
            self.partition.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count() as u32
    }
}

/// A whole generated scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Case {
    pub client: Side,
    pub server: Side,
    pub net: Net,
    /// Seed of the network's random faults.
    pub seed: u64,
}

/// The socket names the generated scripts use.
pub const CLIENT: &str = "client";
pub const SERVER: &str = "server";
const CLIENT_CHILD: &str = "client-child";
const SERVER_CHILD: &str = "server-child";

impl Case {
    pub fn sides(&self) -> [&Side; 2] {
        [&self.client, &self.server]
    }

    /// `"client/server"` personalities.
    pub fn pair(&self) -> String {
        format!("{}/{}", self.client.personality, self.server.personality)
    }

    /// Generated steps (children included), for size comparisons.
    pub fn steps(&self) -> usize {
        self.sides().iter().map(|s| count_steps(&s.steps)).sum()
    }

    /// Bytes written by the scripts, children included.
    pub fn bytes(&self) -> u64 {
        self.sides().iter().map(|s| written(&s.steps)).sum()
    }

    /// A size for picking the simplest example: steps, faults, buffers, bytes.
    pub fn size(&self) -> (usize, u32, u32, u64) {
        let bufs = self
            .sides()
            .iter()
            .map(|s| s.rcvbuf.is_some() as u32 + s.sndbuf.is_some() as u32)
            .sum();
        (self.steps(), self.net.faults(), bufs, self.bytes())
    }
}

fn count_steps(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Fork { child: c } => 1 + c.len(),
            _ => 1,
        })
        .sum()
}

/// Bytes a tail writes (children included).
pub fn written(steps: &[Step]) -> u64 {
    steps
        .iter()
        .map(|s| match &s.call {
            Call::Write { bytes: n, .. } => *n,
            Call::Fork { child: c } => written(c),
            _ => 0,
        })
        .sum()
}

/// Where each generated step landed in the scenario file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Per side (0 client, 1 server): (process index, global step index) of
    /// each `read c eof`.
    pub read_eof: [Vec<(u16, u32)>; 2],
}

// ---------------------------------------------------------------- normalize

/// Makes a tail valid: nothing after `exit`; after `close c` only `close c2`
/// and `exit`; at most one `dup`, one `fork`, one `nonblocking`; `close c2`
/// only after a `dup`. Children get the same treatment (no fork, no dup).
pub fn normalize(steps: Vec<Step>, child: bool) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len());
    let (mut closed, mut dup, mut dup_closed, mut forked, mut nb) =
        (false, false, false, false, false);
    for s in steps {
        let keep = match &s.call {
            Call::Exit {} => true,
            Call::Close { sock: Sock::Dup } => dup && !dup_closed,
            _ if closed => false,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => !dup && !child,
            Call::Fork { child: _ } => !forked && !child,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => !nb,
            _ => true,
        };
        if !keep {
            continue;
        }
        match &s.call {
            Call::Close { sock: Sock::Main } => closed = true,
            Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            } => dup = true,
            Call::Close { sock: Sock::Dup } => dup_closed = true,
            Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            } => nb = true,
            Call::Fork { child: _ } => forked = true,
            _ => {}
        }
        let exit = s.call == Call::Exit {};
        out.push(match s.call {
            Call::Fork { child: c } => Step {
                wait: s.wait,
                call: Call::Fork {
                    child: normalize(c, true),
                },
            },
            call => Step { wait: s.wait, call },
        });
        if exit {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------- strategies

/// What the general generator may produce.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Personalities each side draws from; shrinking goes toward the first.
    pub pool: Arc<Vec<String>>,
    /// Most generated steps per side.
    pub max_steps: usize,
    /// Allow every call kind (else: write, read, read eof, close only).
    pub all_calls: bool,
    /// Allow network faults and buffer options.
    pub faults: bool,
}

impl GenConfig {
    pub fn new(pool: Vec<String>) -> GenConfig {
        GenConfig {
            pool: Arc::new(pool),
            max_steps: 6,
            all_calls: true,
            faults: true,
        }
    }
}

// The strategies below avoid `prop_oneof!`: a union keeps a lazily generated
// tree, with its own copy of the runner, for every alternative it did not
// pick, which made generation the most expensive part of a case. A weighted
// choice is an index into a table instead (entries repeat by weight); the
// index shrinks toward entry 0, the simplest.

/// Picks from a weighted table; shrinks toward the first entry.
fn pick<T: Clone + std::fmt::Debug + Send + Sync + 'static>(
    table: &'static [(u32, T)],
) -> impl Strategy<Value = T> + Clone {
    let total: u32 = table.iter().map(|e| e.0).sum();
    (0..total).prop_map(move |mut x| {
        for (w, v) in table {
            if x < *w {
                return v.clone();
            }
            x -= w;
        }
        unreachable!("index below the total weight")
    })
}

/// `Some` with probability `percent`; shrinks toward `None`.
fn chance<T: std::fmt::Debug + Clone>(
    percent: u8,
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Option<T>> + Clone {
    (0u8..100, s).prop_map(move |(p, v)| (p >= 100 - percent).then_some(v))
}

const WAITS: &[(u32, Wait)] = &[
    (4, Wait::Now),
    (1, Wait::Ms(1)),
    (1, Wait::Ms(10)),
    (1, Wait::Ms(200)),
];

fn wait() -> impl Strategy<Value = Wait> + Clone {
    pick(WAITS)
}

/// Byte counts: mostly one segment or less, some tens of KB, a few hundreds.
fn size() -> impl Strategy<Value = u64> + Clone {
    const BUCKETS: &[(u32, (u64, u64))] =
        &[(4, (1, 1460)), (2, (1461, 20_000)), (1, (20_001, 300_000))];
    (pick(BUCKETS), any::<u32>()).prop_map(|((lo, hi), x)| lo + x as u64 % (hi - lo + 1))
}

fn how() -> impl Strategy<Value = How> + Clone {
    pick(&[(1, How::Wr), (1, How::Rd), (1, How::RdWr)])
}

/// What a generated call is, before its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Write,
    Read,
    ReadEof,
    Shutdown,
    Close,
    Linger,
    Nonblocking,
    Dup,
    CloseDup,
    Fork,
    Exit,
}

const KINDS: &[(u32, Kind)] = &[
    (6, Kind::Write),
    (2, Kind::Read),
    (3, Kind::ReadEof),
    (2, Kind::Shutdown),
    (4, Kind::Close),
    (2, Kind::Linger),
    (1, Kind::Nonblocking),
    (1, Kind::Dup),
    (1, Kind::CloseDup),
    (1, Kind::Fork),
    (1, Kind::Exit),
];

const PLAIN_KINDS: &[(u32, Kind)] = &[
    (3, Kind::Write),
    (1, Kind::Read),
    (1, Kind::ReadEof),
    (2, Kind::Close),
];

const CHILD_KINDS: &[(u32, Kind)] = &[
    (2, Kind::Close),
    (1, Kind::Write),
    (1, Kind::ReadEof),
    (1, Kind::Shutdown),
    (1, Kind::Exit),
];

/// A call of a kind drawn from `kinds`; every argument is drawn, the kind
/// picks the ones it uses.
fn call_of(kinds: &'static [(u32, Kind)]) -> impl Strategy<Value = Call> + Clone {
    (
        pick(kinds),
        size(),
        1u64..=65_536,
        how(),
        (0u32..=5, any::<bool>()),
    )
        .prop_map(|(k, n, r, h, (l, off))| match k {
            Kind::Write => Call::Write {
                sock: Sock::Main,
                bytes: n,
            },
            Kind::Read => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Bytes(r),
            },
            Kind::ReadEof => Call::Read {
                sock: Sock::Main,
                len: ReadLen::Eof,
            },
            Kind::Shutdown => Call::Shutdown {
                sock: Sock::Main,
                how: h,
            },
            Kind::Close => Call::Close { sock: Sock::Main },
            // linger off, 0 (abortive) or N seconds
            Kind::Linger => Call::Linger {
                sock: Sock::Main,
                linger: (!off || l == 0).then_some(l),
            },
            Kind::Nonblocking => Call::Nonblocking {
                sock: Sock::Main,
                on: true,
            },
            Kind::Dup => Call::Dup {
                sock: Sock::Main,
                new: Sock::Dup,
            },
            Kind::CloseDup => Call::Close { sock: Sock::Dup },
            Kind::Fork => Call::Fork { child: Vec::new() },
            Kind::Exit => Call::Exit {},
        })
}

/// A forked child's steps, packed: up to three (wait, call) codes. Drawn for
/// every step (a fork is decided after), so kept to four numbers; each code
/// shrinks toward a plain `- close`.
fn child_steps() -> impl Strategy<Value = Vec<Step>> + Clone {
    (0usize..=3, prop::array::uniform3(any::<u16>())).prop_map(|(n, codes)| {
        let total: u32 = CHILD_KINDS.iter().map(|e| e.0).sum();
        let wtotal: u32 = WAITS.iter().map(|e| e.0).sum();
        let from = |table: &[(u32, Wait)], mut x: u32| {
            for (w, v) in table {
                if x < *w {
                    return *v;
                }
                x -= w;
            }
            Wait::Now
        };
        codes[..n]
            .iter()
            .map(|&c| {
                let c = c as u32;
                let mut k = c % total;
                let mut kind = Kind::Close;
                for (w, v) in CHILD_KINDS {
                    if k < *w {
                        kind = *v;
                        break;
                    }
                    k -= w;
                }
                let call = match kind {
                    Kind::Write => Call::Write {
                        sock: Sock::Main,
                        bytes: 1 + (c / total) as u64 % 1460,
                    },
                    Kind::ReadEof => Call::Read {
                        sock: Sock::Main,
                        len: ReadLen::Eof,
                    },
                    Kind::Shutdown => Call::Shutdown {
                        sock: Sock::Main,
                        how: [How::Wr, How::Rd, How::RdWr][(c / total % 3) as usize],
                    },
                    Kind::Exit => Call::Exit {},
                    _ => Call::Close { sock: Sock::Main },
                };
                Step {
                    wait: from(WAITS, (c / total / 3) % wtotal),
                    call,
                }
            })
            .collect()
    })
}

/// A step; a fork takes its child's steps from `child`.
fn step(all: bool) -> impl Strategy<Value = Step> + Clone {
    let kinds = if all { KINDS } else { PLAIN_KINDS };
    (wait(), call_of(kinds), child_steps()).prop_map(|(wait, call, child)| Step {
        wait,
        call: match call {
            Call::Fork { child: _ } => Call::Fork { child },
            c => c,
        },
    })
}

fn personality(pool: &Arc<Vec<String>>) -> impl Strategy<Value = String> + Clone {
    let pool = Arc::clone(pool);
    (0..pool.len()).prop_map(move |i| pool[i].clone())
}

fn net(faults: bool) -> SBoxedStrategy<Net> {
    if !faults {
        return Just(Net::default()).sboxed();
    }
    let w = |p| chance(p, any::<u8>());
    let pick = |o: Option<u8>, v: &'static [u64]| o.map(|x| v[x as usize % v.len()]);
    (
        w(20),
        w(10),
        w(15),
        w(8),
        w(8),
        chance(8, (0u32..=2000, 1u32..=3000, 0u8..=2)),
    )
        .prop_map(move |(d, j, l, du, r, p)| Net {
            delay_us: pick(d, &[1_000, 20_000]),
            jitter_us: pick(j, &[100, 2_000]),
            loss: pick(l, &[10, 50, 200]).map(|v| v as u32),
            duplicate: pick(du, &[10, 100]).map(|v| v as u32),
            reorder: pick(r, &[50, 250]).map(|v| v as u32),
            partition: p.map(|(from_ms, len_ms, dir)| PartitionGen {
                from_ms,
                len_ms,
                dir,
            }),
        })
        .sboxed()
}

fn steps(cfg: &GenConfig) -> impl Strategy<Value = Vec<Step>> + Clone {
    prop::collection::vec(step(cfg.all_calls), 0..=cfg.max_steps).prop_map(|s| normalize(s, false))
}

fn side(cfg: &GenConfig) -> impl Strategy<Value = Side> + Clone {
    let b = if cfg.faults { 15 } else { 0 };
    let buf = (any::<bool>(), any::<u32>()).prop_map(|(big, x)| {
        if big {
            8193 + x % 254_080
        } else {
            512 + x % 7681
        }
    });
    (
        personality(&cfg.pool),
        chance(b, buf.clone()),
        chance(b, buf),
        steps(cfg),
    )
        .prop_map(|(personality, rcvbuf, sndbuf, steps)| Side {
            personality,
            rcvbuf,
            sndbuf,
            steps,
        })
}

/// Any scenario: both sides' tails drawn freely from every call kind.
pub fn general(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    (side(cfg), side(cfg), net(cfg.faults), 0u64..1000).prop_map(|(client, server, net, seed)| {
        Case {
            client,
            server,
            net,
            seed,
        }
    })
}

/// A graceful close: both sides drain (read to EOF) before closing, nobody
/// uses linger 0, non-blocking sockets or exit. One side (the initiator)
/// writes, shuts down WR, reads to EOF and closes; the other writes a little
/// (at most what fits in the buffers), reads to EOF, writes its answer and
/// closes. Either may set linger off, use a dup'd descriptor it closes
/// first, or fork a child that closes its copy. (Linger N is left out: on
/// Windows a linger timeout that expires aborts the connection, so a close
/// with linger N is not graceful under loss; the survey shows it.)
pub fn graceful(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    let small = 1u64..=1024;
    let pre = prop::collection::vec((wait(), small), 0..=3);
    let writes = prop::collection::vec((wait(), size()), 0..=3);
    let extras = (
        chance(20, Just(None::<u32>)),
        any::<bool>(),
        chance(15, (wait(), any::<bool>())),
    );
    let pool = Arc::clone(&cfg.pool);
    let b = if cfg.faults { 15 } else { 0 };
    (
        (
            personality(&pool),
            personality(&pool),
            chance(b, 8192u32..=262_144),
            chance(b, 8192u32..=262_144),
        ),
        any::<bool>(),
        (writes.clone(), pre, writes),
        (extras.clone(), extras),
        (wait(), wait(), wait()),
        net(cfg.faults),
        0u64..1000,
    )
        .prop_map(
            |(
                (pc, ps, rb, sb),
                client_initiates,
                (iw, rpre, rw),
                (ei, er),
                (w1, w2, w3),
                net,
                seed,
            )| {
                let init = with_extras(ei, initiator_steps(iw, w1, w2));
                let resp = with_extras(er, responder_steps(rpre, rw, w3));
                let (cs, ss) = if client_initiates {
                    (init, resp)
                } else {
                    (resp, init)
                };
                let side = |personality, steps| Side {
                    personality,
                    rcvbuf: rb,
                    sndbuf: sb,
                    steps,
                };
                Case {
                    client: side(pc, cs),
                    server: side(ps, ss),
                    net,
                    seed,
                }
            },
        )
}

/// A graceful side's optional extras: linger off, a dup'd descriptor, a
/// forked child (its wait before closing, and whether it writes first).
type Extras = (Option<Option<u32>>, bool, Option<(Wait, bool)>);

fn step_after(wait: Wait, call: Call) -> Step {
    Step { wait, call }
}

/// `write c N` after each wait.
fn writes(sizes: Vec<(Wait, u64)>) -> impl Iterator<Item = Step> {
    sizes.into_iter().map(|(w, n)| {
        let write = Call::Write {
            sock: Sock::Main,
            bytes: n,
        };
        step_after(w, write)
    })
}

fn read_eof() -> Step {
    let read = Call::Read {
        sock: Sock::Main,
        len: ReadLen::Eof,
    };
    step_after(Wait::Now, read)
}

/// The initiator: writes, shuts down WR, reads to EOF and closes.
fn initiator_steps(sizes: Vec<(Wait, u64)>, shut: Wait, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(sizes).collect();
    let shutdown = Call::Shutdown {
        sock: Sock::Main,
        how: How::Wr,
    };
    v.push(step_after(shut, shutdown));
    v.push(read_eof());
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// The responder: writes a little, reads to EOF, writes its answer and closes.
fn responder_steps(pre: Vec<(Wait, u64)>, answer: Vec<(Wait, u64)>, close: Wait) -> Vec<Step> {
    let mut v: Vec<Step> = writes(pre).collect();
    v.push(read_eof());
    v.extend(writes(answer));
    v.push(step_after(close, Call::Close { sock: Sock::Main }));
    v
}

/// A side's steps with its extras around them: linger first, then the
/// fork, then the dup (after the fork, so the child holds only `c`), the
/// body, and the dup'd descriptor closed just before the last close.
fn with_extras((linger, dup, fork): Extras, body: Vec<Step>) -> Vec<Step> {
    let mut v = Vec::new();
    if let Some(l) = linger {
        let call = Call::Linger {
            sock: Sock::Main,
            linger: l,
        };
        v.push(step_after(Wait::Now, call));
    }
    if let Some((w, write)) = fork {
        v.push(step_after(
            Wait::Now,
            Call::Fork {
                child: fork_child(w, write),
            },
        ));
    }
    if dup {
        let call = Call::Dup {
            sock: Sock::Main,
            new: Sock::Dup,
        };
        v.push(step_after(Wait::Now, call));
    }
    v.extend(body);
    if dup {
        // the dup'd descriptor goes first, so the last close is `close c`
        let at = v.len() - 1;
        v.insert(at, step_after(Wait::Now, Call::Close { sock: Sock::Dup }));
    }
    v
}

/// A graceful side's child: perhaps 100 bytes, then its close after `w`.
fn fork_child(w: Wait, write: bool) -> Vec<Step> {
    let mut child = vec![];
    if write {
        let call = Call::Write {
            sock: Sock::Main,
            bytes: 100,
        };
        child.push(step_after(Wait::Now, call));
    }
    child.push(step_after(w, Call::Close { sock: Sock::Main }));
    child
}

/// Mostly general scenarios, one in four graceful.
pub fn mixed(cfg: &GenConfig) -> impl Strategy<Value = Case> + Clone {
    prop_oneof![3 => general(cfg), 1 => graceful(cfg)]
}

// ---------------------------------------------------------------- to a file

fn sp(s: impl Into<String>) -> Spanned<String> {
    Spanned::new(0..0, s.into())
}

fn tok(s: &str) -> Tok {
    Tok {
        text: s.to_string(),
        at: 0..0,
    }
}

fn at(w: Wait) -> At {
    match w {
        Wait::Now => At::Next,
        Wait::Ms(ms) => At::After(Duration::from_ms(ms as u64)),
    }
}

fn ms(v: u32) -> String {
    format_duration(Duration::from_ms(v as u64))
}

fn permille(v: u32) -> String {
    if v.is_multiple_of(10) {
        format!("{}%", v / 10)
    } else {
        format!("{}.{}%", v / 10, v % 10)
    }
}

struct Emit {
    lines: Vec<Spanned<String>>,
    /// The same steps, parsed: the fuzzer resolves these instead of parsing
    /// `lines` back (each line is the step's canonical `Display`).
    steps: Vec<StepDef>,
}

impl Emit {
    fn push(&mut self, at: At, proc: &str, op: Op) {
        let s = StepDef {
            at,
            proc: tok(proc),
            op,
            expect: None,
        };
        // The line's text is made only when the file is written
        // (`Compiled::text_file`): an empty String costs no allocation.
        self.lines.push(sp(String::new()));
        self.steps.push(s);
    }

    /// An explicit `socket` with the side's buffer options, when it sets
    /// any (otherwise `listen` or `connect` creates the socket). True if
    /// it emitted the socket.
    fn socket_with_buffers(&mut self, at: At, proc: &str, sock: &str, side: &Side) -> bool {
        if side.rcvbuf.is_none() && side.sndbuf.is_none() {
            return false;
        }
        self.push(at, proc, Op::Socket { new: tok(sock) });
        if let Some(b) = side.rcvbuf {
            let op = Op::RcvBuf {
                sock: tok(sock),
                bytes: b,
            };
            self.push(At::Next, proc, op);
        }
        if let Some(b) = side.sndbuf {
            let op = Op::SndBuf {
                sock: tok(sock),
                bytes: b,
            };
            self.push(At::Next, proc, op);
        }
        true
    }

    /// The server's skeleton at 0: buffer options on the listener
    /// (accepted sockets inherit them), `listen`, `accept`.
    fn server_skeleton(&mut self, s: &Side) {
        let explicit = self.socket_with_buffers(At::Abs(Instant::ZERO), SERVER, "l", s);
        let listen = Op::Listen {
            sock: tok("l"),
            port: Some(80),
            backlog: 128,
        };
        self.push(
            if explicit {
                At::Next
            } else {
                At::Abs(Instant::ZERO)
            },
            SERVER,
            listen,
        );
        let accept = Op::Accept {
            sock: tok("l"),
            new: tok("s"),
        };
        self.push(At::Next, SERVER, accept);
    }

    /// The client's skeleton: buffer options at 0, `connect` at 1 ms.
    fn client_skeleton(&mut self, c: &Side) {
        self.socket_with_buffers(At::Abs(Instant::ZERO), CLIENT, "c", c);
        let connect = Op::Connect {
            sock: tok("c"),
            to: Dest {
                host: tok(SERVER),
                port: 80,
            },
        };
        self.push(
            At::Abs(Instant::ZERO + Duration::from_ms(1)),
            CLIENT,
            connect,
        );
    }

    /// A tail of calls on socket `c` (and `c2`) of process `proc`.
    /// `owner` is (process name, process id); `children` collects forks.
    fn tail(
        &mut self,
        owner: (&str, u16),
        child: &str,
        sock: &str,
        steps: &[Step],
        eof: &mut Vec<(u16, u32)>,
        children: &mut Vec<(String, Vec<Step>)>,
    ) {
        let (proc, proc_id) = owner;
        let mut names = GenText {
            sock,
            dup: format!("{sock}2"),
            child,
            children,
        };
        for s in steps {
            if let Call::Read {
                len: ReadLen::Eof, ..
            } = s.call
            {
                eof.push((proc_id, self.lines.len() as u32));
            }
            let op = s.call.rename(&mut names);
            self.push(at(s.wait), proc, op);
        }
    }
}

/// A side's generated names as the scenario's words; a fork's steps are
/// collected to become the child's.
struct GenText<'a> {
    sock: &'a str,
    dup: String,
    child: &'a str,
    children: &'a mut Vec<(String, Vec<Step>)>,
}

impl Rename<Gen, Text> for GenText<'_> {
    fn sock(&mut self, s: &Sock) -> Tok {
        match s {
            Sock::Main => tok(self.sock),
            Sock::Dup => tok(&self.dup),
        }
    }
    fn new_sock(&mut self, s: &Sock) -> Tok {
        self.sock(s)
    }
    fn host(&mut self, _: &()) -> Tok {
        tok(SERVER)
    }
    fn proc(&mut self, steps: &Vec<Step>) -> Tok {
        self.children.push((self.child.to_string(), steps.clone()));
        tok(self.child)
    }
}

/// The scenario file of a case, where its steps are, and the steps already
/// parsed (the fuzzer resolves those instead of reading the lines back).
pub fn to_file(case: &Case) -> (ScenarioFile, Layout, Vec<StepDef>) {
    let mut f = ScenarioFile::default();
    for (name, side) in [(CLIENT, &case.client), (SERVER, &case.server)] {
        f.hosts.insert(
            name.to_string(),
            HostDef {
                personality: sp(side.personality.clone()),
                set: IndexMap::new(),
                mtu: None,
                isn: None,
            },
        );
    }
    f.scenario.seed = Some(case.seed);
    f.network = network_def(&case.net);
    let child_ids = fork_children(case, &mut f.processes);
    let mut e = Emit {
        lines: Vec::new(),
        steps: Vec::new(),
    };
    let mut layout = Layout::default();
    e.server_skeleton(&case.server);
    e.client_skeleton(&case.client);
    let mut children = Vec::new();
    let [ce, se] = &mut layout.read_eof;
    e.tail(
        (CLIENT, 0),
        CLIENT_CHILD,
        "c",
        &case.client.steps,
        ce,
        &mut children,
    );
    e.tail(
        (SERVER, 1),
        SERVER_CHILD,
        "s",
        &case.server.steps,
        se,
        &mut children,
    );
    for (child, steps) in children {
        let (side, sock, id) = if child == CLIENT_CHILD {
            (0, "c", child_ids[0])
        } else {
            (1, "s", child_ids[1])
        };
        let mut nested = Vec::new();
        let eof = &mut layout.read_eof[side];
        e.tail((&child, id), "", sock, &steps, eof, &mut nested);
    }
    f.script.steps = e.lines;
    (f, layout, e.steps)
}

/// The `[network]` section of a case's network conditions.
fn network_def(n: &Net) -> NetworkDef {
    NetworkDef {
        link: LinkDef {
            delay: n
                .delay_us
                .map(|v| format_duration(Duration::from_ns(v * 1000))),
            jitter: n
                .jitter_us
                .map(|v| format_duration(Duration::from_ns(v * 1000))),
            loss: n.loss.map(permille),
            duplicate: n.duplicate.map(permille),
            reorder: n.reorder.map(permille),
            reorder_delay: None,
        },
        links: IndexMap::new(),
        drop: Vec::new(),
        partition: n.partition.iter().map(partition_def).collect(),
    }
}

/// A generated partition as a `[[network.partition]]` entry (times in ms).
fn partition_def(p: &PartitionGen) -> PartitionDef {
    PartitionDef {
        from: sp(ms(p.from_ms)),
        until: sp(ms(p.from_ms + p.len_ms.max(1))),
        direction: match p.dir {
            1 => Some(sp("client->server")),
            2 => Some(sp("server->client")),
            _ => None,
        },
    }
}

/// Declares a child process for each side that forks, and returns the
/// children's process ids (client 0, server 1, then children in
/// declaration order; 0 for a side that does not fork).
fn fork_children(case: &Case, processes: &mut IndexMap<String, ProcDef>) -> [u16; 2] {
    let forks = |s: &Side| {
        s.steps
            .iter()
            .any(|s| matches!(s.call, Call::Fork { child: _ }))
    };
    let mut next_id = 2u16;
    let mut child_ids = [0u16; 2];
    for (i, (side, child, parent)) in [
        (&case.client, CLIENT_CHILD, CLIENT),
        (&case.server, SERVER_CHILD, SERVER),
    ]
    .into_iter()
    .enumerate()
    {
        if forks(side) {
            processes.insert(
                child.to_string(),
                ProcDef {
                    host: sp(parent),
                    forked_from: Some(sp(parent)),
                },
            );
            child_ids[i] = next_id;
            next_id += 1;
        }
    }
    child_ids
}
